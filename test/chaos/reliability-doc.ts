/**
 * The generated part of docs/reliability.md: a chaos run's figures (operations, faults
 * injected, kills, anomalies) as markdown tables, written between the
 * `<!-- bench:chaos:start -->` markers by `npm run test:chaos` (a full run), so that the
 * document always quotes the run that produced it.
 */
import { fileURLToPath } from 'node:url';
import { machineInfo, machineLine, type ReportTable, renderMarkdown, writeSection } from '../../bench/report/report.js';
import { CHAOS_KINDS } from '../../local/chaos.js';
import { type ChaosReport, EXTRA_CHECKS } from './run-chaos.js';

export const RELIABILITY_DOC = fileURLToPath(new URL('../../docs/reliability.md', import.meta.url));
const SECTION = 'chaos';
const HEADER = '# Reliability';

const n = (value: number) => value.toLocaleString('en-US');

export function reliabilityTables(report: ChaosReport): ReportTable[] {
  const { operations, faults, schedule, sendOutcomes } = report;
  const anomalies: Record<string, number> = { ...report.anomalies };
  for (const k of EXTRA_CHECKS) anomalies[k] ??= 0;
  const topics = Object.entries(operations.byTopic);
  const told = (topic: string) => sendOutcomes[topic] ?? { ok: 0, fail: 0, info: 0 };
  const kinds = CHAOS_KINDS;
  const services = ['dynamodb', 's3'] as const;
  return [
    {
      title: 'Operations',
      columns: [
        'topic',
        'sends',
        'acknowledged',
        'refused or failed',
        'no answer',
        'checked as must be present',
        'polls',
        'records polled',
      ],
      rows: [
        ...topics.map(([topic, c]) => [
          topic,
          n(c.sends),
          n(told(topic).ok),
          n(told(topic).fail),
          n(told(topic).info),
          n(c.acked),
          n(c.polls),
          n(c.polledRecords),
        ]),
        [
          '**all**',
          n(operations.sends),
          n(topics.reduce((a, [t]) => a + told(t).ok, 0)),
          n(topics.reduce((a, [t]) => a + told(t).fail, 0)),
          n(topics.reduce((a, [t]) => a + told(t).info, 0)),
          n(operations.acked),
          n(operations.polls),
          n(operations.polledRecords),
        ],
      ],
      notes: [
        `${n(operations.total)} operations (sends + polls) checked.`,
        `The consumer-group members wait on the push path (docs/push.md; pinging every 2 s here): ${n(report.outcomes['group push notifications'] ?? 0)} notifications, ${n(report.outcomes['group push pongs'] ?? 0)} pongs, ${n(report.outcomes['group push connections'] ?? 0)} connections opened (each SIGKILL drops them all). Their deliveries are checked like every poll.`,
        '"acknowledged", "refused or failed" and "no answer" are what the clients were told ("no answer": the server was killed or the request timed out; the record may or may not be in the log, and the checker accepts either).',
        '"checked as must be present": acknowledged records the final read must hold at their offsets. On chaos-compact and chaos-retention that excludes acknowledged records compaction (a later record of the key exists) or retention (below the log start) may legitimately remove; those are checked as "may be present" (still no duplicate, no phantom, no skip).',
      ],
    },
    {
      title: 'Faults injected inside the server (SDK middleware, local/chaos.ts)',
      columns: ['service', ...kinds.map((k) => `${k}`), 'calls seen'],
      rows: services.map((s) => [s, ...kinds.map((k) => n(faults.injected[s][k])), n(faults.calls[s])]),
      notes: [
        'Per call, outside the SDK\'s retries: "before": the call fails without reaching the service; "after": the service applied it, then the caller gets an error (the outcome is unknown to it); "throttle": a throttling error before the call; "latency": the call is delayed; "lostThenThrottled": the first attempt is applied and its answer lost, every retry the SDK makes is throttled, so the caller sees a throttle for a write that happened.',
        'Per attempt, inside the SDK\'s retries (the SDK retries them itself with the same ClientRequestToken and throws only the last): "attemptBefore" (a 500 before sending), "attemptAfter" (applied, answer lost), "attemptThrottle".',
        'Per eventually consistent read (a writer\'s first look at its predecessors): "staleRead", the answer leaves out the items appended within a lag, as a replica that has not applied them yet would (DynamoDB Local answers every read from its one copy).',
        '"calls seen" is a lower bound (each process reports its totals once a second; the last second before a SIGKILL is lost).',
      ],
    },
    {
      title: 'Server process',
      columns: ['incarnation', 'fault profile', 'up (s)', 'down after SIGKILL (s)'],
      rows: schedule.incarnations.map((inc, i) => [
        String(i + 1),
        inc.profile,
        (inc.upMs / 1000).toFixed(1),
        (inc.downMs / 1000).toFixed(1),
      ]),
      notes: [
        `${schedule.kills} SIGKILLs; ${(schedule.downtimeMs / 1000).toFixed(1)} s without a server in all. After the last kill the server comes back without faults (the heal) and the checks run.`,
      ],
    },
    workersTable(report),
    {
      title: 'Anomalies found',
      columns: ['check', 'count'],
      rows: Object.entries(anomalies).map(([check, count]) => [check, String(count)]),
      notes: [
        "Jepsen's queue checks over the whole history, plus this suite's own: retention gaps, group gaps and commits past the high watermark, and liveness after the heal (tails flushed, compacted partitions compacted, the group committed to the end).",
      ],
    },
  ];
}

/** The append worker processes beside the server: what they sent and were told, how they died. */
function workersTable(report: ChaosReport): ReportTable {
  const w = report.workers;
  const crashes = Object.values(w.kills.crashPoints).reduce((a, b) => a + b, 0);
  const injected = (['dynamodb', 's3'] as const).flatMap((s) => CHAOS_KINDS.map((k) => w.faults.injected[s][k]));
  const list = (o: Record<string, number>) =>
    Object.entries(o)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => `${k} ${n(v)}`)
      .join(', ') || 'none';
  return {
    title: 'Append worker processes (test/support/append-worker.ts, on chaos-log beside the server)',
    columns: [
      'processes',
      'incarnations',
      'start to ready (s, mean)',
      'requests',
      'records sent',
      'acknowledged',
      'refused',
      'no answer',
      'in flight at a kill',
      'SIGKILLs',
      'crash points',
      'seals announced',
      'SDK faults injected',
    ],
    rows: [
      [
        String(w.processes),
        n(w.incarnations),
        (w.startupMs.mean / 1000).toFixed(1),
        n(w.requests),
        n(w.sends),
        n(w.acked),
        n(w.refused),
        n(w.unknown),
        n(w.inFlightAtKill),
        n(w.kills.parent + w.kills.atStop),
        n(crashes),
        n(w.seals),
        n(injected.reduce((a, b) => a + b, 0)),
      ],
    ],
    notes: [
      `Requests: plain ${n(w.byKind.plain)}, idempotent ${n(w.byKind.idempotent)}, conditional ${n(w.byKind.conditional)} (one to three partitions each). Their records are in the chaos-log rows above, checked with the HTTP actors' records.`,
      `"SIGKILLs": by the run, one worker every ${w.killEveryMs.map((ms) => ms / 1000).join('–')} s${w.kills.atStop > 0 ? ` (${w.kills.atStop} at the stop)` : ''}; "crash points": workers killing themselves at a named point (${list(w.kills.crashPoints)}); ${n(w.stalls)} stalls of 0.1–1.5 s. "in flight at a kill": records of requests a kill left unanswered (no answer: may or may not be in the log).`,
      `Each incarnation took the server incarnation's fault profile when it started (${list(w.byProfile)}), with its own seed; faults injected: ${list(Object.fromEntries(CHAOS_KINDS.map((k) => [k, w.faults.injected.dynamodb[k] + w.faults.injected.s3[k]])))}.`,
    ],
  };
}

/** How long the faults ran: the planned window, or longer when the run went on to reach its operations floor. */
function faultWindow(report: ChaosReport): string {
  const planned = report.options.durationMs / 1000;
  if (!report.faultWindow.extended) return `${planned} s`;
  return `${Math.round(report.faultWindow.ms / 1000)} s (${planned} s planned, extended while the run was under the full run's floor of operations)`;
}

/** Rewrites the chaos section of docs/reliability.md with this run's figures. */
export async function writeReliabilitySection(report: ChaosReport, command: string): Promise<void> {
  const { options } = report;
  const body = [
    `### Latest run (\`${command}\`)`,
    '',
    `Measured on ${machineLine(machineInfo(new Date(report.startedAt)))}: faults for ${faultWindow(report)} ` +
      `(seed ${options.seed}, workload scale ${options.scale}, sequencing ${options.sequencing ?? 'optimistic (the default)'}), ` +
      `${(report.wallMs / 1000).toFixed(0)} s in all with the drain and the checks. ` +
      `Anomalies: **${report.anomalyCount}**.`,
    '',
    ...reliabilityTables(report).map((t) => `${renderMarkdown(t)}\n`),
  ].join('\n');
  await writeSection(RELIABILITY_DOC, SECTION, body, HEADER);
}
