// The harness's expressions: string literals are unescaped as the runner
// does (every '' is one '), which a run: script with quotes and an
// expression depends on (the workflow parser turns it into format('...')).
import { asString, evaluate, tokenString } from '../helpers/workflow-harness/expressions.ts';
import { parseWorkflowText } from '../helpers/workflow-harness/index.ts';

const scope = { contexts: { inputs: { pr: '7' } }, where: 'test' };

describe('string literals', () => {
  it("every '' in a literal is one '", () => {
    expect(asString(evaluate("'it''s ''quoted'''", undefined, scope), 'test')).toBe(
      "it's 'quoted'"
    );
    expect(
      asString(evaluate("format('echo ''a'' ''b'' {0}', inputs.pr)", undefined, scope), 'test')
    ).toBe("echo 'a' 'b' 7");
  });

  it('a run: script with quotes around JSON and an expression keeps its quotes', async () => {
    const def = await parseWorkflowText(
      '.gitea/workflows/t.yml',
      `
on: workflow_dispatch
jobs:
  j:
    runs-on: ubuntu-latest
    steps:
      - run: |
          curl -d '{"Do":"merge"}' "$API/pulls/\${{ inputs.pr }}/merge" -H 'A: b'
`,
      () => ''
    );
    // trim(): @actions/workflow-parser keeps a block scalar's indentation when it holds an expression.
    expect(tokenString(def.jobs[0].steps[0].run, scope).trim()).toBe(
      `curl -d '{"Do":"merge"}' "$API/pulls/7/merge" -H 'A: b'`
    );
  });
});
