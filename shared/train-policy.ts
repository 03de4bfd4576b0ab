// The policy for a train cell's SQL body (issue 6): the rows it selects never leave the worker,
// only the model fitted on them does, so a row-level SELECT is allowed; but in aggregate mode no
// feature or target may come from a privacy unit or join key column, and hidden columns stay out.
//
// The body is walked by the same analyser as SQL cells (policy.ts), as a query whose rows stay
// inside the cell: statements, table functions, unknown nodes, hidden columns, environment
// functions, windows and revealing aggregates are judged exactly as there. Its select list then
// tells where each feature and the target come from. That the rows come from at least k people is
// the worker's check (the k-guard over the selected rows), since a tree cannot show it.
import { type TrainSpec } from './model.js';
import { Analyser, isNode, type Json, list, type PolicyContext, type PolicyProblem, type PolicyVerdict } from './policy.js';

/** Checks a train cell's tree (macros already expanded) against the room's policy. */
export function analyseTrainCell(tree: unknown, context: PolicyContext, spec: TrainSpec): PolicyVerdict {
  const aggregate = context.mode === 'aggregate';
  const single = aggregate ? 'a train cell is a single SELECT of its training rows' : 'a train cell is a single read-only SELECT of its training rows';
  const root = tree as Json;
  if (!isNode(root) || root['error'] !== false) return { ok: false, problems: [{ reason: single }] };
  const statements = list(root['statements']);
  const statement = statements[0];
  if (statements.length !== 1 || !isNode(statement)) return { ok: false, problems: [{ reason: single }] };

  const analyser = new Analyser(context);
  let relation: ReturnType<Analyser['query']> = { columns: [], known: false };
  try {
    // Not an output: its rows stay in the worker, so privacy units, join keys and measures may be
    // selected (and joined on); what leaves is the model, checked column by column below.
    relation = analyser.query(statement['node'], false, null, new Map(), 0);
  } catch {
    analyser.refuse(null, 'unknown SQL construct (the tree could not be read)');
  }
  const problems: PolicyProblem[] = [...analyser.problems];

  // A `*` (reviewed mode) leaves the columns unknown here; the worker checks them once the rows exist.
  if (relation.known) {
    const named = [
      { label: 'target', name: spec.target },
      ...spec.features.map((name) => ({ label: 'feature', name })),
    ];
    for (const { label, name } of named) {
      const found = relation.columns.filter((column) => column.name.toLowerCase() === name.toLowerCase());
      if (found.length === 0) {
        problems.push({ reason: `${label} ${name} is not a column of the cell's SELECT` });
        continue;
      }
      if (found.length > 1) {
        problems.push({ reason: `the cell's SELECT has ${found.length} columns named ${name}` });
        continue;
      }
      const origin = (found[0] as (typeof found)[number]).origin;
      if (!aggregate) continue;
      if (origin.role === 'privacy_unit') problems.push({ reason: `${label} ${name} comes from privacy unit ${origin.column}: a model may not learn from a privacy unit in aggregate mode` });
      else if (origin.role === 'join_key') problems.push({ reason: `${label} ${name} comes from join key ${origin.column}: a join key may only be used to join in aggregate mode` });
      else if (origin.role === 'hidden') problems.push({ reason: `${label} ${name} comes from hidden column ${origin.column}` });
    }
  }
  return { ok: problems.length === 0, problems };
}
