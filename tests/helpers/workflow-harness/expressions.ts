// Expressions, evaluated the way the runner evaluates them: parsed and run
// by GitHub's own @actions/expressions (lexer, parser, evaluator, the
// well-known functions and the loose comparison rules), against contexts the
// harness builds. What the harness adds: the status functions (success(),
// failure(), cancelled(), always(): the runner's, not the library's), the
// contexts allowed at each place in the file (read from the workflow
// schema's definition of the key, as the parser attached it to the token),
// and loud failures: a context the harness does not model, hashFiles(), an
// object where a string is expected.
import { Evaluator, Lexer, Parser, data } from '@actions/expressions';
import {
  Binary,
  ContextAccess,
  FunctionCall,
  Grouping,
  IndexAccess,
  Logical,
  Unary,
  type Expr
} from '@actions/expressions/ast';
import type { FunctionDefinition, FunctionInfo } from '@actions/expressions/funcs/info';
import { truthy } from '@actions/expressions/result';
import {
  isBasicExpression,
  isBoolean,
  isMapping,
  isNumber,
  isSequence,
  isString
} from '@actions/workflow-parser';
import { splitAllowedContext } from '@actions/workflow-parser/templates/allowed-context';
import type { TemplateToken } from '@actions/workflow-parser/templates/tokens/template-token';
import { TokenType } from '@actions/workflow-parser/templates/tokens/types';
import { HarnessError } from './errors.ts';

/** Context name -> plain JSON value (github, env, vars, secrets, inputs, needs, steps, jobs, job, runner, matrix, strategy). */
export type Contexts = Record<string, unknown>;

/** The runner's status functions where they apply: a job's `if` (its needs) or a step's `if` (earlier steps). */
export interface StatusFunctions {
  success(): boolean;
  failure(): boolean;
  cancelled(): boolean;
}

export interface Scope {
  contexts: Contexts;
  status?: StatusFunctions;
  /** Where the expression is, for messages: 'quality-gates.yml job merge step 2 with.ref'. */
  where: string;
}

const STATUS = ['success', 'failure', 'cancelled', 'always'] as const;

function statusFunctions(status: StatusFunctions): Map<string, FunctionDefinition> {
  const fn = (name: string, value: () => boolean): [string, FunctionDefinition] => [
    name,
    { name, minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(value()) }
  ];
  return new Map([
    fn('success', () => status.success()),
    fn('failure', () => status.failure()),
    fn('cancelled', () => status.cancelled()),
    fn('always', () => true)
  ]);
}

/** Every context name and function name an expression tree uses. */
function usedNames(
  tree: Expr,
  into = { contexts: new Set<string>(), functions: new Set<string>() }
) {
  if (tree instanceof ContextAccess) into.contexts.add(tree.name.lexeme.toLowerCase());
  else if (tree instanceof FunctionCall) {
    into.functions.add(tree.functionName.lexeme.toLowerCase());
    for (const a of tree.args) usedNames(a, into);
  } else if (tree instanceof Binary) {
    usedNames(tree.left, into);
    usedNames(tree.right, into);
  } else if (tree instanceof Unary) usedNames(tree.expr, into);
  else if (tree instanceof Logical) for (const a of tree.args) usedNames(a, into);
  else if (tree instanceof Grouping) usedNames(tree.group, into);
  else if (tree instanceof IndexAccess) {
    usedNames(tree.expr, into);
    usedNames(tree.index, into);
  }
  return into;
}

/** Plain JSON into the library's data model (dictionaries are case-insensitive, as in the runner). */
export function toData(value: unknown): data.ExpressionData {
  return JSON.parse(JSON.stringify(value ?? null), data.reviver) as data.ExpressionData;
}

export function toJs(value: data.ExpressionData): unknown {
  return JSON.parse(JSON.stringify(value, data.replacer)) as unknown;
}

/**
 * The library's tokens, its string literals unescaped as the runner does:
 * every '' is one ' (@actions/expressions 0.3.61 replaces only the first,
 * so `run: echo 'a' 'b' ${{ x }}`, which the parser turns into
 * format('echo ''a'' ''b'' {0}', x), came out as echo 'a'' ''b'').
 */
function lexTokens(expression: string): ReturnType<Lexer['lex']>['tokens'] {
  const tokens = new Lexer(expression).lex().tokens;
  for (const t of tokens) {
    if (typeof t.value === 'string' && t.lexeme.length >= 2 && t.lexeme.startsWith("'"))
      t.value = t.lexeme.slice(1, -1).replace(/''/g, "'");
  }
  return tokens;
}

/**
 * Evaluates `expression` (no `${{ }}`). `allowed` is the schema's list for
 * the key it sits in (contexts and `fn(min,max)` entries); undefined allows
 * every context in the scope and the status functions when the scope has them.
 */
export function evaluate(
  expression: string,
  allowed: readonly string[] | undefined,
  scope: Scope
): data.ExpressionData {
  const names = Object.keys(scope.contexts);
  let namedContexts: string[];
  let functions: FunctionInfo[];
  if (allowed) {
    ({ namedContexts, functions } = splitAllowedContext([...allowed]));
  } else {
    namedContexts = names;
    functions = scope.status ? STATUS.map((name) => ({ name, minArgs: 0, maxArgs: 0 })) : [];
  }
  let tree: Expr;
  try {
    tree = new Parser(lexTokens(expression), namedContexts, functions).parse();
  } catch (err) {
    throw new HarnessError(
      `${scope.where}: expression \`${expression}\` does not parse: ${(err as Error).message}`
    );
  }
  const used = usedNames(tree);
  for (const c of used.contexts) {
    if (!names.some((n) => n.toLowerCase() === c)) {
      throw new HarnessError(
        `${scope.where}: \`${expression}\` reads context '${c}', which the harness does not provide here`
      );
    }
  }
  if (used.functions.has('hashfiles')) {
    throw new HarnessError(`${scope.where}: hashFiles() is not modelled by the harness`);
  }
  const usesStatus = STATUS.some((s) => used.functions.has(s));
  if (usesStatus && !scope.status) {
    throw new HarnessError(`${scope.where}: a status function outside an if: (${expression})`);
  }
  const dict = new data.Dictionary(
    ...Object.entries(scope.contexts).map(([key, value]) => ({ key, value: toData(value) }))
  );
  try {
    return new Evaluator(
      tree,
      dict,
      scope.status ? statusFunctions(scope.status) : undefined
    ).evaluate();
  } catch (err) {
    throw new HarnessError(
      `${scope.where}: \`${expression}\` failed to evaluate: ${(err as Error).message}`
    );
  }
}

/** A result where the runner needs a string (env, with, outputs, runs-on): null is '', objects are refused. */
export function asString(value: data.ExpressionData, where: string): string {
  switch (value.kind) {
    case data.Kind.Null:
      return '';
    case data.Kind.String:
    case data.Kind.Boolean:
    case data.Kind.Number:
      return value.coerceString();
    default:
      throw new HarnessError(`${where}: an object or array where a string is expected`);
  }
}

export function isTruthy(value: data.ExpressionData): boolean {
  return truthy(value);
}

/** The value of a token: literals as they are, expressions evaluated, mappings and sequences recursively. */
export function tokenValue(token: TemplateToken, scope: Scope): data.ExpressionData {
  if (isBasicExpression(token)) {
    return evaluate(token.expression, token.definitionInfo?.allowedContext, scope);
  }
  if (isString(token)) return new data.StringData(token.value);
  if (isBoolean(token)) return new data.BooleanData(token.value);
  if (isNumber(token)) return new data.NumberData(token.value);
  if (token.templateTokenType === TokenType.Null) return new data.Null();
  if (isSequence(token)) {
    const arr = new data.Array();
    for (const item of token) arr.add(tokenValue(item, { ...scope, where: `${scope.where}[]` }));
    return arr;
  }
  if (isMapping(token)) {
    const dict = new data.Dictionary();
    for (const pair of token) {
      if (!isString(pair.key)) {
        throw new HarnessError(`${scope.where}: an expression as a mapping key`);
      }
      dict.add(
        pair.key.value,
        tokenValue(pair.value, { ...scope, where: `${scope.where}.${pair.key.value}` })
      );
    }
    return dict;
  }
  throw new HarnessError(`${scope.where}: token type ${token.templateTokenType} is not modelled`);
}

export function tokenString(token: TemplateToken | undefined, scope: Scope): string {
  return token === undefined ? '' : asString(tokenValue(token, scope), scope.where);
}

/** A mapping of strings (env:, with:, outputs:), every value evaluated to a string. */
export function tokenStringMap(
  token: TemplateToken | undefined,
  scope: Scope
): Record<string, string> {
  const out: Record<string, string> = {};
  if (token === undefined || token.templateTokenType === TokenType.Null) return out;
  if (isBasicExpression(token)) {
    throw new HarnessError(`${scope.where}: a whole mapping from one expression is not modelled`);
  }
  if (!isMapping(token)) throw new HarnessError(`${scope.where}: expected a mapping`);
  for (const pair of token) {
    if (!isString(pair.key)) throw new HarnessError(`${scope.where}: an expression as a key`);
    out[pair.key.value] = tokenString(pair.value, {
      ...scope,
      where: `${scope.where}.${pair.key.value}`
    });
  }
  return out;
}
