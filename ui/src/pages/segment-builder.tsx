import { useEffect, useState } from 'preact/hooks';
import { parse, stringify } from 'yaml';
import { api } from '../api';
import { ErrorNote, fmt } from '../components/data';
import { href } from '../router';

/**
 * The segment builder: a form over the segment's fields and its conditions (every kind of docs/segments.md, each as
 * its kind and its fields, nested in all-of / any-of / none-of groups to any depth), the YAML it makes beside it
 * (editable too: either side updates the other), checked by the server with the schema `segflow segments check`
 * uses, sized with a sample of members as you edit, and saved as a YAML file in the segments folder.
 */
const TEMPLATES: Record<string, unknown> = {
  performed: { event: 'Order Completed', atLeast: 1, within: '30d' },
  notPerformed: { event: 'Order Completed', within: '30d' },
  firstPerformed: { event: 'Order Completed', within: '30d' },
  lastPerformed: { event: 'Order Completed', within: '14d' },
  startedDoing: { event: 'Product Viewed', within: '7d' },
  stoppedDoing: { event: 'Order Completed', within: '30d' },
  didRegularly: { event: 'Product Viewed', period: '7d', periods: 4, atLeast: 3 },
  restarted: { event: 'Order Completed', within: '14d', inactiveFor: '60d' },
  sequence: { steps: [{ event: 'Product Added' }, { event: 'Checkout Started' }], maxGap: '1h' },
  feature: { feature: 'rfm.r', gte: 4 },
  trait: { trait: 'plan', equals: 'pro' },
  inSegment: 'champion',
  notInSegment: 'holdout',
  bucket: { seed: 'experiment', from: 0, to: 0.5 },
  account: { any: { performed: { event: 'Order Completed', within: '30d' } } },
};
const KINDS = Object.keys(TEMPLATES);
/** Groups nest conditions: all of them, any of them, or none of them (`not`). */
const GROUPS = { and: 'all of (group)', or: 'any of (group)', not: 'none of (group)' } as const;
type GroupKind = keyof typeof GROUPS;
const isGroup = (kind: string): kind is GroupKind => kind in GROUPS;

interface Field {
  key: string;
  value: string;
}
interface ConditionRow {
  /** A condition kind, or a group (and, or, not) of the conditions in `children`. */
  kind: string;
  /** For kinds whose body is one value (inSegment: name). */
  scalar: string | null;
  fields: Field[];
  children: ConditionRow[];
}
interface Draft {
  name: string;
  label: string;
  description: string;
  owner: string;
  tags: string;
  match: 'and' | 'or';
  conditions: ConditionRow[];
}

/** A field's text as YAML: `30d` stays text, `4` is a number, `[a, b]` a list, `{…}` an object. */
function fieldValue(text: string): unknown {
  try {
    return parse(text);
  } catch {
    return text;
  }
}
const textOf = (v: unknown) => (typeof v === 'string' ? v : stringify(v, { flow: true }).trim());

function rowOf(kind: string, body: unknown): ConditionRow {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { kind, scalar: textOf(body), fields: [], children: [] };
  }
  return {
    kind,
    scalar: null,
    fields: Object.entries(body).map(([key, v]) => ({ key, value: textOf(v) })),
    children: [],
  };
}
const groupOf = (kind: GroupKind, children: ConditionRow[]): ConditionRow => ({
  kind,
  scalar: null,
  fields: [],
  children,
});
const newCondition = () => rowOf('performed', TEMPLATES.performed);

/** A form row as a condition of docs/segments.md; `feature` and `trait` keep their test beside the kind key. */
function conditionOf(c: ConditionRow): unknown {
  if (c.kind === 'and' || c.kind === 'or') return { [c.kind]: c.children.map(conditionOf) };
  if (c.kind === 'not') {
    const inner = c.children.map(conditionOf);
    return { not: inner.length === 1 ? inner[0] : { or: inner } };
  }
  if (c.scalar !== null) return { [c.kind]: fieldValue(c.scalar) };
  const body = Object.fromEntries(
    c.fields.filter((f) => f.key.trim()).map((f) => [f.key.trim(), fieldValue(f.value)]),
  );
  return c.kind === 'feature' || c.kind === 'trait' ? body : { [c.kind]: body };
}

/** A condition as a form row (groups with their rows), or null when it is not a condition the form knows. */
function rowFromCondition(c: unknown): ConditionRow | null {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) return null;
  const o = c as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1 && (Array.isArray(o.and) || Array.isArray(o.or))) {
    const kind = Array.isArray(o.and) ? 'and' : 'or';
    const children = (o[kind] as unknown[]).map(rowFromCondition);
    return children.every((x) => x !== null) ? groupOf(kind, children as ConditionRow[]) : null;
  }
  if (keys.length === 1 && 'not' in o) {
    const inner = o.not as Record<string, unknown> | null;
    const list =
      inner && typeof inner === 'object' && Object.keys(inner).length === 1 && Array.isArray(inner.or)
        ? (inner.or as unknown[])
        : [inner];
    const children = list.map(rowFromCondition);
    return children.every((x) => x !== null) ? groupOf('not', children as ConditionRow[]) : null;
  }
  if ('feature' in o) return rowOf('feature', o);
  if ('trait' in o) return rowOf('trait', o);
  const kind = keys[0];
  if (keys.length !== 1 || !kind || !KINDS.includes(kind)) return null;
  return rowOf(kind, o[kind]);
}

function definitionOf(d: Draft): Record<string, unknown> {
  const conditions = d.conditions.map(conditionOf);
  const def: Record<string, unknown> = { name: d.name };
  if (d.label) def.label = d.label;
  if (d.description) def.description = d.description;
  if (d.owner) def.owner = d.owner;
  const tags = d.tags
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  if (tags.length) def.tags = tags;
  def.where = conditions.length === 1 ? conditions[0] : { [d.match]: conditions };
  return def;
}

/** The form's view of a definition, or null when its shape is beyond the form. */
function draftOf(def: unknown): Draft | null {
  if (typeof def !== 'object' || def === null) return null;
  const o = def as Record<string, unknown>;
  const where = o.where as Record<string, unknown> | undefined;
  if (!where || typeof where !== 'object') return null;
  let match: 'and' | 'or' = 'and';
  let list: unknown[];
  if (Array.isArray(where.and)) list = where.and;
  else if (Array.isArray(where.or)) {
    match = 'or';
    list = where.or;
  } else list = [where];
  const conditions = list.map(rowFromCondition);
  if (conditions.some((c) => c === null)) return null;
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  return {
    name: str(o.name),
    label: str(o.label),
    description: str(o.description),
    owner: str(o.owner),
    tags: Array.isArray(o.tags) ? o.tags.join(', ') : '',
    match,
    conditions: conditions as ConditionRow[],
  };
}

/**
 * One condition of the form: its kind and fields, or a group's conditions (each one of these again). `path` names
 * it (`1`, `1-2` for the second condition of the first one's group) in ids and labels.
 */
function ConditionEditor(props: {
  row: ConditionRow;
  path: string;
  onChange: (row: ConditionRow) => void;
  onRemove: (() => void) | null;
}) {
  const c = props.row;
  const id = `cond-${props.path}`;
  const set = props.onChange;
  return (
    <fieldset class={isGroup(c.kind) ? 'condition group' : 'condition'} data-condition={props.path}>
      <legend>
        Condition{' '}
        {props.path
          .split('-')
          .map((n) => Number(n) + 1)
          .join('.')}
      </legend>
      <p class="field">
        <label for={`${id}-kind`}>Kind</label>
        <select
          id={`${id}-kind`}
          value={c.kind}
          onChange={(e) => {
            const kind = (e.target as HTMLSelectElement).value;
            set(
              isGroup(kind)
                ? groupOf(kind, isGroup(c.kind) ? c.children : [c])
                : rowOf(kind, TEMPLATES[kind]),
            );
          }}
        >
          {KINDS.map((k) => (
            <option value={k}>{k}</option>
          ))}
          {Object.entries(GROUPS).map(([k, label]) => (
            <option value={k}>{label}</option>
          ))}
        </select>
      </p>
      {isGroup(c.kind) ? (
        <>
          {c.children.map((child, j) => (
            <ConditionEditor
              row={child}
              path={`${props.path}-${j}`}
              onChange={(row) => set({ ...c, children: c.children.map((x, k) => (k === j ? row : x)) })}
              onRemove={
                c.children.length > 1
                  ? () => set({ ...c, children: c.children.filter((_, k) => k !== j) })
                  : null
              }
            />
          ))}
          <p>
            <button type="button" onClick={() => set({ ...c, children: [...c.children, newCondition()] })}>
              Add a condition to group{' '}
              {props.path
                .split('-')
                .map((n) => Number(n) + 1)
                .join('.')}
            </button>
          </p>
        </>
      ) : c.scalar !== null ? (
        <p class="field">
          <label for={`${id}-value`}>Value</label>
          <input
            id={`${id}-value`}
            value={c.scalar}
            onInput={(e) => set({ ...c, scalar: (e.target as HTMLInputElement).value })}
          />
        </p>
      ) : (
        c.fields.map((f, j) => (
          <p class="field pair">
            <label for={`${id}-${j}-key`} class="visually-hidden">
              Field {j + 1} name
            </label>
            <input
              id={`${id}-${j}-key`}
              class="key"
              value={f.key}
              onInput={(e) =>
                set({
                  ...c,
                  fields: c.fields.map((g, k) =>
                    k === j ? { ...g, key: (e.target as HTMLInputElement).value } : g,
                  ),
                })
              }
            />
            <label for={`${id}-${j}-value`}>{f.key || `field ${j + 1}`}</label>
            <input
              id={`${id}-${j}-value`}
              data-field={f.key}
              data-condition-field={`${props.path}:${f.key}`}
              value={f.value}
              onInput={(e) =>
                set({
                  ...c,
                  fields: c.fields.map((g, k) =>
                    k === j ? { ...g, value: (e.target as HTMLInputElement).value } : g,
                  ),
                })
              }
            />
            <button
              type="button"
              class="link"
              aria-label={`Remove field ${f.key}`}
              onClick={() => set({ ...c, fields: c.fields.filter((_, k) => k !== j) })}
            >
              ×
            </button>
          </p>
        ))
      )}
      <p>
        {!isGroup(c.kind) && c.scalar === null ? (
          <button type="button" onClick={() => set({ ...c, fields: [...c.fields, { key: '', value: '' }] })}>
            Add a field
          </button>
        ) : null}{' '}
        <button type="button" onClick={() => props.onRemove?.()} disabled={props.onRemove === null}>
          Remove condition
        </button>
      </p>
    </fieldset>
  );
}

const EMPTY: Draft = {
  name: 'my-segment',
  label: 'My segment',
  description: '',
  owner: '',
  tags: '',
  match: 'and',
  conditions: [newCondition()],
};

interface Problem {
  line?: number;
  path: string;
  message: string;
}
interface Estimate {
  size: number;
  population: number;
  sample: string[];
  asOf: string;
}

export function SegmentBuilder(props: {
  admin: boolean;
  from: string | null;
  /** A condition to start from (JSON, from peopleHref) and its label: the people behind a number elsewhere. */
  where?: string | null;
  label?: string | null;
}) {
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [yaml, setYaml] = useState(() => stringify(definitionOf(EMPTY)));
  const [formOk, setFormOk] = useState(true);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [estimate, setEstimate] = useState<Estimate | null>(null);
  const [estimating, setEstimating] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState('');

  useEffect(() => {
    if (!props.from) return;
    api
      .get<{ segments: { name: string; definition: Record<string, unknown> }[] }>('/api/v1/segments')
      .then((r) => {
        const def = r.segments.find((s) => s.name === props.from)?.definition;
        if (!def) return;
        const { active: _active, ...rest } = def;
        editYaml(stringify(rest));
      }, setError);
  }, [props.from]);

  useEffect(() => {
    if (!props.where) return;
    try {
      const where = JSON.parse(props.where) as Record<string, unknown>;
      editYaml(stringify({ name: 'people-behind', ...(props.label ? { label: props.label } : {}), where }));
    } catch (e) {
      setError(e);
    }
  }, [props.where, props.label]);

  const editForm = (next: Draft) => {
    setDraft(next);
    setFormOk(true);
    setYaml(stringify(definitionOf(next)));
  };
  const editYaml = (text: string) => {
    setYaml(text);
    try {
      const d = draftOf(parse(text));
      if (d) setDraft(d);
      setFormOk(d !== null);
    } catch {
      setFormOk(false);
    }
  };

  // Check and size the YAML a moment after each edit.
  useEffect(() => {
    let live = true;
    const t = setTimeout(async () => {
      setSaved('');
      try {
        const check = await api.post<{ ok: boolean; problems: Problem[] }>('/api/v1/segments/drafts/check', {
          yaml,
        });
        if (!live) return;
        setProblems(check.problems);
        setError(null);
        if (!check.ok) return;
        setEstimating(true);
        const e = await api.post<Estimate>('/api/v1/segments/drafts/estimate', { yaml, sample: 10 });
        if (live) setEstimate(e);
      } catch (e) {
        if (live) setError(e);
      } finally {
        if (live) setEstimating(false);
      }
    }, 350);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [yaml]);

  const save = async () => {
    setError(null);
    try {
      const r = await api.post<{ name: string; file: string; created: boolean }>(
        '/api/v1/segments/drafts/save',
        {
          yaml,
        },
      );
      setSaved(`Saved ${r.name} to ${r.file}. Run a refresh to update its members.`);
    } catch (e) {
      setError(e);
    }
  };

  const setCond = (i: number, row: ConditionRow) =>
    editForm({ ...draft, conditions: draft.conditions.map((c, j) => (j === i ? row : c)) });
  const text = (label: string, key: 'name' | 'label' | 'description' | 'owner' | 'tags', hint?: string) => (
    <p class="field">
      <label for={`seg-${key}`}>{label}</label>
      <input
        id={`seg-${key}`}
        value={draft[key]}
        onInput={(e) => editForm({ ...draft, [key]: (e.target as HTMLInputElement).value })}
      />
      {hint ? <span class="muted">{hint}</span> : null}
    </p>
  );

  return (
    <>
      <h1>Segment builder</h1>
      <div class="builder">
        <form class="builder-form" aria-label="Segment form" onSubmit={(e) => e.preventDefault()}>
          <fieldset disabled={!formOk}>
            <legend>Segment</legend>
            {!formOk ? (
              <p class="muted">The YAML holds nesting the form cannot show; edit it on the right.</p>
            ) : null}
            {text('Name', 'name', 'lowercase letters, digits, - and _')}
            {text('Label', 'label')}
            {text('Description', 'description')}
            {text('Owner', 'owner')}
            {text('Tags', 'tags', 'comma-separated')}
            <p class="field">
              <label for="seg-match">People who match</label>
              <select
                id="seg-match"
                value={draft.match}
                onChange={(e) =>
                  editForm({ ...draft, match: (e.target as HTMLSelectElement).value as 'and' | 'or' })
                }
              >
                <option value="and">all of the conditions</option>
                <option value="or">any of the conditions</option>
              </select>
            </p>
            {draft.conditions.map((c, i) => (
              <ConditionEditor
                row={c}
                path={String(i)}
                onChange={(row) => setCond(i, row)}
                onRemove={
                  draft.conditions.length > 1
                    ? () => editForm({ ...draft, conditions: draft.conditions.filter((_, j) => j !== i) })
                    : null
                }
              />
            ))}
            <button
              type="button"
              onClick={() =>
                editForm({
                  ...draft,
                  conditions: [...draft.conditions, newCondition()],
                })
              }
            >
              Add a condition
            </button>
          </fieldset>
        </form>
        <div class="builder-yaml">
          <label for="seg-yaml">YAML (the file that will be saved)</label>
          <textarea
            id="seg-yaml"
            spellcheck={false}
            rows={22}
            value={yaml}
            onInput={(e) => editYaml((e.target as HTMLTextAreaElement).value)}
          />
          <section aria-live="polite" aria-label="Check and size">
            {problems.length ? (
              <ul class="problems">
                {problems.map((p) => (
                  <li>
                    {p.line ? `line ${p.line}, ` : ''}
                    {p.path || '(file)'}: {p.message}
                  </li>
                ))}
              </ul>
            ) : (
              <p class="ok">Valid.</p>
            )}
            <p>
              Estimated size:{' '}
              <strong data-testid="estimate">
                {estimating && !estimate ? '…' : estimate ? fmt.n(estimate.size) : '—'}
              </strong>{' '}
              {estimate ? `of ${fmt.n(estimate.population)} people (as of ${fmt.date(estimate.asOf)})` : ''}
            </p>
            {estimate?.sample.length ? (
              <p>
                Sample:{' '}
                {estimate.sample.map((id, i) => (
                  <>
                    {i ? ', ' : ''}
                    <a href={href('people', id)}>{id}</a>
                  </>
                ))}
              </p>
            ) : null}
          </section>
          {props.admin ? (
            <p>
              <button type="button" onClick={save} disabled={problems.length > 0}>
                Save segment file
              </button>{' '}
              <span role="status">{saved}</span>
            </p>
          ) : (
            <p class="muted">Saving needs an admin key.</p>
          )}
          <ErrorNote error={error} />
        </div>
      </div>
    </>
  );
}
