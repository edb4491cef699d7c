/**
 * A cost run's result turned into docs/cost.md's generated blocks and its chart: the same
 * code for `npm run cost`, which has just measured, and for `npm run cost -- --render`,
 * which redraws them from bench/results/cost.json without measuring. The blocks carry
 * what a run measured or was configured with; what a table means is docs/cost.md's
 * hand-written text around them.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { DEFAULT_STAGE_BYTES, DEFAULT_TAIL_TTL_MS, EXPRESS_STAGE_BYTES, MAX_TAIL_ITEM_BYTES } from '../../lib/core/constants.js';
import { PER_CALL_MS, S3_EXPRESS_REQUEST_MS, S3_STANDARD_REQUEST_MS, TRANSACT_WRITE_EXTRA_MS } from '../harness/latency-model.js';
import { formatUsd } from '../harness/stats.js';
import { logLogChart } from '../report/charts.js';
import { machineLine, type ReportTable, renderMarkdown, writeJson, writeSection } from '../report/report.js';
import {
  AIM_RATE_MIB_PER_SEC,
  ALARMS,
  BATCH_RECORDS,
  CONFIGS,
  type ConfigSpec,
  type CostResult,
  catchUp,
  configName,
  configPerGib,
  DASHBOARDS,
  defaultPolicyLabel,
  HANDLER_MS,
  headline,
  IDLE_CUSTOM_METRICS,
  IDLE_PASSES_PER_MONTH,
  KIB,
  LAMBDA_MEMORY_GB,
  MIB,
  type Model,
  modelledLambdaMs,
  monthly,
  PARTITIONS,
  S3_BYTES_PER_MS,
  SCHEDULED_RUN_MS,
  SCHEDULED_RUNS_PER_MONTH,
  TIERS,
  tierName,
  VALUE_BYTES,
} from './cost-model.js';
import { fanOutBlock, recoveryWindowBlock } from './fanout-cost.js';
import { GIB, HOURS_PER_MONTH, PRICES, PRICES_AS_OF, PRICES_REGION } from './prices.js';
import { batchingTable } from './producer-batching.js';
import { pushCostBlock } from './push-cost.js';
import { appendCostTables } from './sequencer-cost.js';

/** Where the report goes. */
export interface CostPaths {
  docs: string;
  chart: string;
  results: string;
}

function callList(calls: Record<string, number>): string {
  return Object.entries(calls)
    .map(([name, n]) => `${Number.isInteger(n) ? n : n.toFixed(1)} ${name.replace(/Command$/, '')}`)
    .join(', ');
}

const kib = (bytes: number) => (bytes >= 100 * KIB ? (bytes / KIB).toFixed(0) : (bytes / KIB).toFixed(1));
const usdOrDash = (usd: number | undefined) => (usd === undefined ? '—' : formatUsd(usd));

function costTables(r: CostResult, m: Model): ReportTable[] {
  const k = m.kinesis.find((x) => x.rate === AIM_RATE_MIB_PER_SEC)!;
  const aims: ReportTable = {
    title: `The aims, at ${AIM_RATE_MIB_PER_SEC} MiB/s of 1 KiB records on ${PARTITIONS} partitions, ingest + one read + 24 h retention, per month`,
    columns: ['aim', 'target', 'measured', 'met'],
    rows: m.aims.map((a) => [a.name, a.aim, a.figure, a.met ? 'yes' : 'no']),
    notes: [
      `The client producer's default policy makes ${kib(m.atAimRate.find((x) => x.policy === defaultPolicyLabel(r))!.batchBytes)} KiB batches at this rate (below, "Batches the producer makes").`,
    ],
  };
  const atAim: ReportTable = {
    title: `Per month at ${AIM_RATE_MIB_PER_SEC} MiB/s, 1 KiB records, ${PARTITIONS} partitions, ingest + one read of the tail + 24 h retention: by config and producer policy`,
    columns: [
      'config',
      'producer policy',
      'batch KiB',
      'requests/s',
      'ack p99 ms',
      '$ per GiB',
      '$ per month',
      '× Kinesis provisioned',
      '× Kinesis on-demand',
    ],
    rows: [
      ...m.atAimRate.map((x) => [
        configName(x.config),
        x.policy,
        kib(x.batchBytes),
        x.requestsPerSecond.toFixed(1),
        x.ackP99Ms.toFixed(0),
        usdOrDash(x.perGib),
        usdOrDash(x.usd),
        x.usd === undefined ? '—' : `${(x.usd / k.provisioned).toFixed(2)}×`,
        x.usd === undefined ? '—' : `${(x.usd / k.onDemand).toFixed(2)}×`,
      ]),
      [
        'Kinesis on-demand',
        '—',
        '—',
        '—',
        '—',
        formatUsd((k.onDemand - 0) / k.gibPerMonth),
        formatUsd(k.onDemand),
        `${(k.onDemand / k.provisioned).toFixed(2)}×`,
        '1.00×',
      ],
      [
        'Kinesis provisioned',
        '—',
        '—',
        '—',
        '—',
        formatUsd(k.provisioned / k.gibPerMonth),
        formatUsd(k.provisioned),
        '1.00×',
        `${(k.provisioned / k.onDemand).toFixed(2)}×`,
      ],
    ],
    notes: [
      `stageBytes: ${CONFIGS.map((c) => `${c.name} ${c.stageBytes / KIB} KiB`).join(', ')}.`,
      `Strata's fixed cost: ${formatUsd(m.fixed)} a month for ${PARTITIONS} partitions; tail items kept until their TTL: ${DEFAULT_TAIL_TTL_MS / 3_600_000} h.`,
    ],
  };
  const policiesTable = batchingTable(
    r.policies.atAimRate,
    `Batches the producer makes at ${AIM_RATE_MIB_PER_SEC} MiB/s of 1 KiB records on ${PARTITIONS} partitions, by policy`,
  );
  const bySize: ReportTable = {
    title: '$ per GiB of record values by batch size and tier: ingest + one read of the tail + 24 h retention (measured)',
    columns: ['batch', ...TIERS.map((t) => t.name), 'requests per GiB'],
    rows: BATCH_RECORDS.map((records) => {
      const bytes = records * VALUE_BYTES;
      return [
        `${bytes / KIB} KiB`,
        ...TIERS.map((t) => {
          const p = r.points.find((x) => x.tier === t.id && x.batchBytes === bytes);
          return p ? formatUsd(headline(p.strata)) : '—';
        }),
        Math.round(GIB / bytes).toLocaleString('en-US'),
      ];
    }),
    notes: [
      `stageBytes: ${TIERS.map((t) => `${t.name} ${t.stageBytes / KIB} KiB`).join(', ')}.`,
      `Each point: about ${r.workload.pointBytes / MIB} MiB (at least ${r.workload.minRequests} requests) of ${r.workload.valueBytes / KIB} KiB values, C=${r.workload.concurrency}, round-robin over ${r.workload.partitions} partitions, flushed into ${r.workload.segmentBytes / MIB} MiB segments.`,
    ],
  };
  const bySizeDetail: ReportTable = {
    title: '$ per GiB by batch size and tier, by part',
    columns: [
      'tier',
      'batch',
      'ingest (append + flush)',
      'read once, tail',
      'read once, segments',
      'retain 24 h',
      'retain 7 days',
      'tail kept to TTL',
      'ingest + tail read + 24 h',
      'ingest + segment read + 7 days',
    ],
    rows: r.points.map((p) => [
      tierName(p.tier),
      `${p.batchBytes / KIB} KiB`,
      formatUsd(p.strata.ingest),
      formatUsd(p.strata.readTail),
      formatUsd(p.strata.readSegments),
      formatUsd(p.strata.retain24h),
      formatUsd(p.strata.retain7d),
      formatUsd(p.strata.tailTtl),
      formatUsd(headline(p.strata)),
      formatUsd(catchUp(p.strata)),
    ]),
  };
  const byRate: ReportTable = {
    title: `Per month at a sustained rate, 1 KiB records, ${PARTITIONS} partitions, ingest + one read of the tail + 24 h retention, the producer's default policy: Strata next to Kinesis Data Streams`,
    columns: [
      'rate',
      'GiB/month',
      'batch KiB',
      ...CONFIGS.map((c) => `Strata ${c.name}`),
      'Kinesis on-demand',
      'Kinesis provisioned',
      'shards',
    ],
    rows: m.kinesis.map((kr) => {
      const b = r.policies.byRate.find((x) => x.rate === kr.rate)!.result;
      return [
        `${kr.rate} MiB/s`,
        kr.gibPerMonth.toFixed(0),
        kib(b.meanBatchBytes),
        ...CONFIGS.map((c) => usdOrDash(m.byRate.find((x) => x.config === c.id && x.rate === kr.rate)!.usd)),
        formatUsd(kr.onDemand),
        formatUsd(kr.provisioned),
        String(kr.shards),
      ];
    }),
    notes: [
      `Strata's fixed cost: ${formatUsd(m.fixed)} a month for ${PARTITIONS} partitions. Kinesis with 7 days: ${m.kinesis.map((kr) => `${formatUsd(kr.onDemand7)} / ${formatUsd(kr.provisioned7)}`).join(', ')} (on-demand / provisioned, by rate).`,
    ],
  };
  const frontDoor: ReportTable = {
    title:
      'API Gateway or Lambda function URLs in front of the functions: the default config, ingest + one read of the tail + 24 h retention',
    columns: [
      'request (batch of 1 KiB records)',
      '$ per GiB, API Gateway',
      '$ per GiB, function URLs',
      '$ per million appends, API Gateway',
      '$ per million appends, function URLs',
      'API Gateway share',
    ],
    rows: [KIB, 100 * KIB, MIB].map((bytes) => {
      const config = CONFIGS.find((c) => c.id === 'default')!;
      const api = configPerGib(r.points, config, bytes, headline)!;
      const urls = configPerGib(r.points, config, bytes, (x) => headline(x) - x.apiTail)!;
      const perMillion = (perGib: number) => (perGib * bytes * 1e6) / GIB;
      return [
        bytes >= MIB ? `${bytes / MIB} MiB` : `${bytes / KIB} KiB`,
        formatUsd(api),
        formatUsd(urls),
        formatUsd(perMillion(api)),
        formatUsd(perMillion(urls)),
        `${(((api - urls) / api) * 100).toFixed(0)}%`,
      ];
    }),
  };
  const idle: ReportTable = {
    title: 'Idle: a deployed Strata with no traffic, per month',
    columns: ['item', '$ per month'],
    rows: [
      [
        `schedule: ${SCHEDULED_RUNS_PER_MONTH.toLocaleString('en-US')} compact invocations (every 5 min)`,
        formatUsd(
          SCHEDULED_RUNS_PER_MONTH *
            (PRICES.lambdaRequest.usd + (SCHEDULED_RUN_MS / 1000) * LAMBDA_MEMORY_GB * PRICES.lambdaArmGbSecond.usd),
        ),
      ],
      [
        `CloudWatch: ${ALARMS} alarms, ${DASHBOARDS} dashboard`,
        formatUsd(ALARMS * PRICES.cloudWatchAlarmMonth.usd + DASHBOARDS * PRICES.cloudWatchDashboardMonth.usd),
      ],
      [
        `CloudWatch: ${IDLE_CUSTOM_METRICS} custom (EMF) metrics every scheduled compact run publishes`,
        formatUsd(IDLE_CUSTOM_METRICS * PRICES.cloudWatchMetricMonth.usd),
      ],
      [
        `per partition holding data: ${IDLE_PASSES_PER_MONTH} maintenance passes (hourly orphan scan; settled partitions are skipped by the other runs; measured)`,
        formatUsd(r.idle.monthlyPerPartition),
      ],
      ['API Gateway, DynamoDB on-demand, SQS, S3 requests with no traffic', '$0'],
      ['Kinesis on-demand, per stream', formatUsd(PRICES.kinesisOnDemandStreamHour.usd * HOURS_PER_MONTH)],
      ['Kinesis provisioned, per shard (24 h retention)', formatUsd(PRICES.kinesisShardHour.usd * HOURS_PER_MONTH)],
    ],
    notes: [
      `One idle pass of one partition made ${callList({ ...r.idle.usagePerPass.dynamo, ...r.idle.usagePerPass.s3 })}: ${formatUsd(r.idle.perPassPerPartition.total)} (DynamoDB ${formatUsd(r.idle.perPassPerPartition.dynamo)}, S3 ${formatUsd(r.idle.perPassPerPartition.s3)}, Lambda ${formatUsd(r.idle.perPassPerPartition.lambda)}).`,
      `A scheduled root invocation: ${SCHEDULED_RUN_MS} ms.`,
    ],
  };
  // The phases at the batch size the default policy makes at the aims' rate.
  const target = m.atAimRate.find((x) => x.policy === defaultPolicyLabel(r))!.batchBytes;
  const perPhase = TIERS.flatMap((t): ReportTable[] => {
    // The batch size the default policy makes at the aims' rate, in each tier.
    const candidates = r.points.filter((p) => p.tier === t.id);
    if (candidates.length === 0) return [];
    const p = candidates.reduce((a, b) => (Math.abs(Math.log(b.batchBytes / target)) < Math.abs(Math.log(a.batchBytes / target)) ? b : a));
    return [
      {
        title: `Measured, ${t.name}, ${p.batchBytes / KIB} KiB batches: ${p.requests} requests, scaled to 1 GiB ingested`,
        columns: [
          'phase',
          'Lambda invocations',
          'Lambda GB-s',
          'API requests',
          'DynamoDB WRU',
          'DynamoDB RRU',
          'S3 PUT/LIST',
          'S3 GET',
          'S3 Express PUT',
          'S3 Express GET',
          '$ DynamoDB',
          '$ S3',
          '$ Lambda',
          '$ API',
          '$ total',
        ],
        rows: p.phases.map((ph) => {
          const c = p.perGib[ph.name]!;
          const per = (n: number) => Math.round(n / p.gib).toLocaleString('en-US');
          return [
            ph.name,
            per(ph.invocations),
            per((modelledLambdaMs(ph) / 1000) * LAMBDA_MEMORY_GB),
            per(ph.apiRequests),
            per(ph.usage.dynamo.writeUnits),
            per(ph.usage.dynamo.readUnits),
            per(ph.usage.s3.put),
            per(ph.usage.s3.get),
            per(ph.usage.s3express.put),
            per(ph.usage.s3express.get),
            formatUsd(c.dynamo),
            formatUsd(c.s3),
            formatUsd(c.lambda),
            formatUsd(c.api),
            formatUsd(c.total),
          ];
        }),
      },
    ];
  });
  perPhase.at(-1)!.notes = [
    `Lambda GB-s at ${LAMBDA_MEMORY_GB * 1024} MB, from the calls each phase made at DynamoDB ${PER_CALL_MS} ms a call, +${TRANSACT_WRITE_EXTRA_MS} for a transaction; S3 Standard ${S3_STANDARD_REQUEST_MS} ms, S3 Express ${S3_EXPRESS_REQUEST_MS} ms a request; bytes at ${S3_BYTES_PER_MS / 1000} MB/s; + ${HANDLER_MS} ms per invocation.`,
  ];
  return [aims, atAim, policiesTable, bySize, byRate, frontDoor, idle, bySizeDetail, ...perPhase];
}

function batchSizeChart(r: CostResult, m: Model): string {
  const k = m.kinesis.find((x) => x.rate === AIM_RATE_MIB_PER_SEC)!;
  return logLogChart({
    title: '$ per GiB by batch size: ingest + one read + 24 h retention (measured)',
    xUnit: 'batch size (1 KiB records per request)',
    yUnit: '$ per GiB of record values',
    xLabel: (x) => (x >= MIB ? `${x / MIB} MiB` : `${x / KIB} KiB`),
    yLabel: (y) => `$${y < 1 ? Number(y.toPrecision(1)) : y}`,
    series: TIERS.map((t) => ({
      name: t.name,
      points: r.points.filter((p) => p.tier === t.id).map((p): [number, number] => [p.batchBytes, headline(p.strata)]),
    })),
    references: [
      { value: k.onDemand / k.gibPerMonth, label: `Kinesis on-demand at ${AIM_RATE_MIB_PER_SEC} MiB/s` },
      { value: k.provisioned / k.gibPerMonth, label: `Kinesis provisioned at ${AIM_RATE_MIB_PER_SEC} MiB/s` },
    ],
  });
}

/** The price table, from bench/cost/prices.ts. */
function pricesBlock(): string[] {
  return [
    `${PRICES_REGION}, as of ${PRICES_AS_OF}.`,
    '',
    '| unit | price | source |',
    '| --- | ---: | --- |',
    ...Object.values(PRICES).map(
      (p) =>
        `| ${p.unit} | ${p.usd >= 0.001 || p.usd === 0 ? `$${p.usd}` : `$${(p.usd * 1e6).toPrecision(4)} per million`} | ${p.source} |`,
    ),
  ];
}

/** Which config for which workload: what each costs in this run (docs/cost.md says what each is for). */
function configAdvice(r: CostResult, m: Model): string[] {
  const def = defaultPolicyLabel(r);
  const k = m.kinesis.find((x) => x.rate === AIM_RATE_MIB_PER_SEC)!;
  const line = (config: ConfigSpec['id'], policy: string) => {
    const x = m.atAimRate.find((y) => y.config === config && y.policy === policy);
    return x?.usd === undefined
      ? '—'
      : `${formatUsd(x.usd)} a month (${(x.usd / k.provisioned).toFixed(2)}× Kinesis provisioned, ${(x.usd / k.onDemand).toFixed(2)}× on-demand)`;
  };
  const short = r.policies.atAimRate.find((p) => /budget 100 /.test(p.label))?.label ?? def;
  const longest = r.policies.atAimRate.at(-1)!.label;
  return [
    `At ${AIM_RATE_MIB_PER_SEC} MiB/s of 1 KiB records on ${PARTITIONS} partitions:`,
    '',
    `- The default (appends up to ${DEFAULT_STAGE_BYTES / KIB} KiB in DynamoDB), with the default producer: ${line('default', def)}.`,
    `- The staging tier (batches above ${EXPRESS_STAGE_BYTES / KIB} KiB in S3 Express One Zone): ${line('staging-tier', def)}; with a ${longest.replace(/^budget /, '')} budget, ${line('staging-tier', longest)}.`,
    `- Latency first (stageBytes ${MAX_TAIL_ITEM_BYTES / KIB} KiB): ${line('latency-first', def)}.`,
    `- The default config with a ${short.replace(/^budget /, '')} budget: ${line('default', short)}; with ${longest.replace(/^budget /, '')}, ${line('default', longest)}.`,
  ];
}

/** One generated block of docs/cost.md: what goes between its markers. */
export interface CostBlock {
  name: string;
  body: string;
}

/** docs/cost.md's generated blocks, in the document's order, and the chart, with no I/O. */
export function renderCost(r: CostResult): { blocks: CostBlock[]; chart: string; model: Model; tables: ReportTable[] } {
  const model = monthly(r);
  const tables = costTables(r, model);
  const [aims, byConfig, policies, bySize, byRate, frontDoor, idle, byPart, ...phases] = tables;
  const sequencers = appendCostTables(r.sequencers);
  const markdown = (...t: ReportTable[]) => t.map(renderMarkdown).join('\n\n');
  const blocks: [string, string][] = [
    ['run', `Measured with \`${r.command}\` on ${machineLine(r.machine)}.`],
    ['aims', markdown(aims!)],
    ['by-config', markdown(byConfig!)],
    ['policies', markdown(policies!)],
    ['by-size', `${markdown(bySize!)}\n\n![$ per GiB by batch size](charts/cost-batch-size.svg)`],
    ['by-rate', markdown(byRate!)],
    ['front-door', markdown(frontDoor!)],
    ['idle', markdown(idle!)],
    ['by-part', markdown(byPart!)],
    ['phases', markdown(...phases)],
    ['which-config', configAdvice(r, model).join('\n')],
    ['sequencers', markdown(...sequencers)],
    ['fanout', fanOutBlock().join('\n')],
    ['recovery-window', recoveryWindowBlock().join('\n')],
    ['tailing', pushCostBlock().join('\n')],
    ['prices', pricesBlock().join('\n')],
  ];
  return {
    blocks: blocks.map(([name, body]) => ({ name, body })),
    chart: batchSizeChart(r, model),
    model,
    tables: [...tables, ...sequencers],
  };
}

/** Only for a docs/cost.md that does not exist yet: the hand-written text is in the file. */
const DOCS_HEADER = '# Cost model\n';

/** Writes docs/cost.md's blocks and its chart for a result; returns the tables for printing. */
export async function writeCostDocs(paths: CostPaths, r: CostResult): Promise<ReportTable[]> {
  const { blocks, chart, tables } = renderCost(r);
  await writeFile(paths.chart, chart);
  for (const block of blocks) await writeSection(paths.docs, block.name, block.body, DOCS_HEADER);
  return tables;
}

/** Saves a result with the model derived from it. */
export async function writeCostResult(paths: CostPaths, r: CostResult): Promise<void> {
  await writeJson(paths.results, { ...r, model: monthly(r) });
}

/** The saved result (the model saved beside it is derived again when rendered). */
export async function readCostResult(paths: CostPaths): Promise<CostResult> {
  const { model: _model, ...saved } = JSON.parse(await readFile(paths.results, 'utf8')) as CostResult & { model?: Model };
  return saved;
}
