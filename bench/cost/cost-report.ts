/**
 * A cost run's result turned into docs/cost.md and its chart: the same code for
 * `npm run cost`, which has just measured, and for `npm run cost -- --render`, which
 * redraws them from bench/results/cost.json without measuring.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { DEFAULT_STAGE_BYTES, DEFAULT_TAIL_TTL_MS, EXPRESS_STAGE_BYTES, MAX_TAIL_ITEM_BYTES } from '../../lib/core/constants.js';
import { PER_CALL_MS, S3_EXPRESS_REQUEST_MS, S3_STANDARD_REQUEST_MS, TRANSACT_WRITE_EXTRA_MS } from '../harness/latency-model.js';
import { formatUsd } from '../harness/stats.js';
import { logLogChart } from '../report/charts.js';
import { machineLine, type ReportTable, renderMarkdown, writeJson } from '../report/report.js';
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
  SCHEDULED_RUNS_PER_MONTH,
  TIERS,
  tierName,
  VALUE_BYTES,
} from './cost-model.js';
import { fanOutCostSection } from './fanout-cost.js';
import { GIB, HOURS_PER_MONTH, PRICES, PRICES_AS_OF, PRICES_REGION } from './prices.js';
import { batchingTable } from './producer-batching.js';
import { pushCostSection } from './push-cost.js';
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
      'The best config is the cheapest of the configs below under that policy; the default config is the construct and topic config as they come.',
      'Why the best config is not under Kinesis provisioned: every request is billed (API Gateway, Lambda, DynamoDB write units, a PUT), and at this rate the producer\'s batches carry too few bytes per request; it takes about 1 MiB batches (the table by batch size), i.e. requests carrying several partitions\' batches (docs/design.md, "What a GiB costs").',
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
      ...CONFIGS.map((c) => `${c.name}: ${c.description}.`),
      `Strata's rows include its fixed cost (${formatUsd(m.fixed)} a month: schedule, alarms, dashboard, custom metrics, idle passes of ${PARTITIONS} partitions) and the DynamoDB storage of tail items kept until their TTL (${DEFAULT_TAIL_TTL_MS / 3_600_000} h).`,
      "$ per GiB at the policy's mean batch size is the measured cost of the tier the config sends such a batch to (below), interpolated between the measured sizes linearly in 1/size.",
      'Kinesis $ per GiB divides the month by its GiB; its shards and stream-hours are fixed costs.',
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
      `DynamoDB tail: topics with stageBytes ${MAX_TAIL_ITEM_BYTES / KIB} KiB (the most a tail item holds); staged: stageBytes 1 KiB, every batch PUT to the Standard bucket or, with the staging tier on, to the directory bucket (s3rver stands in for both), and committed by a pointer item.`,
      `Each point ingests about ${r.workload.pointBytes / MIB} MiB (at least ${r.workload.minRequests} requests) of 1 KiB values over HTTP, C=${r.workload.concurrency}, round-robin over ${r.workload.partitions} partitions, reads it once from the tail, flushes it into ${r.workload.segmentBytes / MIB} MiB segments, reads it once from the segments; the reserving sequencer (the append function's default) and tail items expiring by TTL, as deployed.`,
      'Chart: docs/charts/cost-batch-size.svg.',
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
    notes: [
      'Retention is S3 Standard storage of the segments for 1 or 7 days of a month; "tail kept to TTL" is DynamoDB storage of the flushed tail items until TTL removes them (a day), from the items\' sizes (an estimate: batches + about 200 B each).',
      'Staged objects are deleted by the flush that copies them into a segment (DELETE is free): their storage, minutes at $0.023 or $0.11 per GB-month, is left out.',
    ],
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
      `Strata includes its fixed cost (${formatUsd(m.fixed)} a month for ${PARTITIONS} partitions). With 7 days of retention and a catch-up read of the segments instead, see the by-part table; Kinesis with 7 days: ${m.kinesis.map((kr) => `${formatUsd(kr.onDemand7)} / ${formatUsd(kr.provisioned7)}`).join(', ')} (on-demand / provisioned, by rate).`,
      'The batch size is what the default policy makes at that rate (the producer simulation); the slower the rate, the smaller the batches its budget allows.',
      'Kinesis on-demand: stream-hours + GB in + GB out; provisioned: one shard per 1,000 records/s + PUT payload units; a standard (shared-throughput) consumer.',
      'Not in either: data transfer out of AWS, CloudWatch Logs volume, the client side.',
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
    notes: [
      "API Gateway HTTP API: $1 per million requests, metered per 512 KB (a 1 MiB request is three); a function URL costs nothing beyond the function (Lambda pricing), the Lambda side is the same. The construct's function URLs are issue 14; the figures here are this model's.",
      '100 KiB is interpolated between the measured sizes; per million appends counts the whole workload (the append, its share of flushes, the tail read and retention) per append of that size.',
    ],
  };
  const idle: ReportTable = {
    title: 'Idle: a deployed Strata with no traffic, per month',
    columns: ['item', '$ per month'],
    rows: [
      [
        `schedule: ${SCHEDULED_RUNS_PER_MONTH.toLocaleString('en-US')} compact invocations (every 5 min)`,
        formatUsd(SCHEDULED_RUNS_PER_MONTH * (PRICES.lambdaRequest.usd + 0.1 * LAMBDA_MEMORY_GB * PRICES.lambdaArmGbSecond.usd)),
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
      'The scheduled root invocation is taken as 100 ms; stored data costs its storage on top (S3 $0.023 per GB-month).',
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
    "Counts come from an SDK middleware on the engine's own DynamoDB and S3 clients (ConsumedCapacity as DynamoDB reports it; S3 requests by price class and bucket); Lambda and API Gateway requests are counted by the harness.",
    `Lambda GB-s at ${LAMBDA_MEMORY_GB * 1024} MB (the construct's default) from the calls each phase made, at the AWS latency model's times (DynamoDB ${PER_CALL_MS} ms a call, +${TRANSACT_WRITE_EXTRA_MS} for a transaction; S3 Standard ${S3_STANDARD_REQUEST_MS} ms, S3 Express ${S3_EXPRESS_REQUEST_MS} ms a request; bytes at ${S3_BYTES_PER_MS / 1000} MB/s), one after another, + ${HANDLER_MS} ms per invocation: not this machine's wall time, which measured its load (bench/results/cost.json keeps it as lambdaMs).`,
    'The flush writes no DynamoDB deletes: flushed tail items expire by TTL (free); its write units are the manifest and the head.',
    'S3 Express: $ includes the per-GB upload and retrieval charges on every byte (bench/cost/prices.ts).',
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

function renderDoc(r: CostResult, m: Model, tables: ReportTable[], sequencerTables: ReportTable[]): string {
  const priceRows = Object.values(PRICES).map(
    (p) => `| ${p.unit} | ${p.usd >= 0.001 || p.usd === 0 ? `$${p.usd}` : `$${(p.usd * 1e6).toPrecision(4)} per million`} | ${p.source} |`,
  );
  const [aims, atAim, policies, bySize, ...rest] = tables;
  return [
    '# Cost model',
    '',
    `Generated by \`${r.command}\` on ${machineLine(r.machine)}. Edit the prices in \`bench/cost/prices.ts\`, not here.`,
    '',
    'What one GiB of record values costs to ingest, read once and keep, from the requests the',
    'engine actually made in a measured workload (an SDK middleware counts DynamoDB capacity units',
    'and S3 requests around the real calls), priced at AWS list prices, next to Kinesis Data Streams',
    'for the same workload. Every request is billed (API Gateway, Lambda, DynamoDB, an S3 PUT when',
    'staged), so what a GiB costs depends first on how many requests carry it: on the batch size,',
    'which the client producer\'s policy sets (docs/design.md, "What a GiB costs").',
    '',
    `${renderMarkdown(aims!)}\n`,
    `${renderMarkdown(atAim!)}\n`,
    `${renderMarkdown(policies!)}\n`,
    `${renderMarkdown(bySize!)}\n`,
    '![$ per GiB by batch size](charts/cost-batch-size.svg)',
    '',
    ...rest.map((t) => `${renderMarkdown(t)}\n`),
    '## Which config for which workload',
    '',
    ...configAdvice(r, m),
    '',
    '## Write units per append, by sequencer',
    '',
    'What DynamoDB bills per acknowledged append when K independent writers (K Lambda environments, one',
    'request at a time each, so no group commit across them) append to one partition: the optimistic',
    "sequencer (the engine's and `npm start`'s default), the reserving one (`sequencing: 'reserve'`, the",
    "deployed append function's default; docs/design.md, issue 13), and",
    "the conflict-free primitive they are set against. Measured with the contention suite's worker processes",
    'and call meter (bench/cost/sequencer-cost.ts); the units are counted from the requests and their item sizes,',
    'failed writes included, as the notes say.',
    '',
    ...sequencerTables.map((t) => `${renderMarkdown(t)}\n`),
    ...fanOutCostSection(),
    ...pushCostSection(),
    `## Prices (${PRICES_REGION}, as of ${PRICES_AS_OF})`,
    '',
    'List prices, on-demand, without the free tier. They were taken from these pages as the team',
    `knew them on ${PRICES_AS_OF} and not re-fetched from this machine (it has no network):`,
    'check them before relying on a figure.',
    '',
    '| unit | price | source |',
    '| --- | ---: | --- |',
    ...priceRows,
    '',
    '## Assumptions',
    '',
    '- One GiB means 2^30 bytes of record values (keys, headers and JSON overhead not counted as data, but paid for in requests).',
    '- Batch sizes at a rate come from the real client Producer in virtual time against a modelled append (bench/cost/producer-batching.ts):',
    '  Poisson arrivals of 1 KiB records spread evenly over the partitions, one request in flight per partition.',
    '- Lambda durations are modelled from the calls made (the AWS latency model), not measured: request counts, capacity',
    "  units and S3 requests do not depend on the machine; this machine's wall time does, on its load.",
    '- Flushed tail items expire by DynamoDB TTL a day after their append (deletes are free); until then they cost DynamoDB storage',
    '  ($0.25 per GB-month), counted from their sizes.',
    '- Kinesis figures use the same records: on-demand bills GB in and out (records rounded up to 1 KB) plus stream-hours;',
    '  provisioned needs one shard per 1,000 records/s and bills PUT payload units. Enhanced fan-out is not used.',
    '- Not counted anywhere: data transfer out of AWS, CloudWatch Logs ingestion (Strata logs at WARN by default), KMS',
    '  (AWS-managed keys), PITR backups (about $0.20 per GB-month of table, which holds the tail and its TTL day).',
    '',
  ].join('\n');
}

/** Which config for which workload, from this run's numbers. */
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
    `At ${AIM_RATE_MIB_PER_SEC} MiB/s of 1 KiB records on ${PARTITIONS} partitions (the table above has other rates):`,
    '',
    `- **The default** suits most workloads: appends up to ${DEFAULT_STAGE_BYTES / KIB} KiB stay in DynamoDB (a few ms), larger batches are staged in S3 Standard. With the default producer: ${line('default', def)}.`,
    `- **Volume, with an Availability Zone to pin** (the functions mostly run in it): the staging tier (\`stagingAvailabilityZoneId\`): batches above ${EXPRESS_STAGE_BYTES / KIB} KiB go to S3 Express One Zone, single-digit-ms PUTs. ${line('staging-tier', def)}; with a ${longest.replace(/^budget /, '')} budget, ${line('staging-tier', longest)}.`,
    `- **Latency first** (appends acknowledged in a few ms whatever their size, modest volume): stageBytes ${MAX_TAIL_ITEM_BYTES / KIB} KiB. DynamoDB bills every KB: ${line('latency-first', def)}.`,
    `- **The producer's latency budget is the biggest lever**: the default config with a ${short.replace(/^budget /, '')} budget costs ${line('default', short)}; with ${longest.replace(/^budget /, '')}, ${line('default', longest)}.`,
  ];
}

/** docs/cost.md and the chart for a result, with no I/O. */
export function renderCost(r: CostResult): { docs: string; chart: string; model: Model; tables: ReportTable[] } {
  const model = monthly(r);
  const tables = costTables(r, model);
  const sequencerTables = appendCostTables(r.sequencers);
  return {
    docs: renderDoc(r, model, tables, sequencerTables),
    chart: batchSizeChart(r, model),
    model,
    tables: [...tables, ...sequencerTables],
  };
}

/** Writes docs/cost.md and its chart for a result; returns the tables for printing. */
export async function writeCostDocs(paths: CostPaths, r: CostResult): Promise<ReportTable[]> {
  const { docs, chart, tables } = renderCost(r);
  await writeFile(paths.chart, chart);
  await writeFile(paths.docs, docs);
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
