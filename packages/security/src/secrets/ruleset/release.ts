// The gitleaks release whose default configuration our rule ids follow
// (every rule id of its config/gitleaks.toml has a rule of the same id in
// ./rules-*.ts; tests/unit/secrets-ruleset-ids.test.ts checks the list).
export const GITLEAKS_RULES_RELEASE = 'v8.30.0';
