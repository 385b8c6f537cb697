/**
 * What `asynctx bench headline` runs (flags in headline.ts): the cases of
 * headline_run.ts, paired inline against auto, printed as a table or JSON
 * rows with the verdicts, and with --report a markdown report with charts.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { cpuPressure, machine, median } from './common.js';
import { CASES, passBytes, runHeadline, type CaseName, type HeadlinePlan, type HeadlineResult, type HeadlineRow } from './headline_run.js';
import type { HeadlineFlags } from './headline.js';
import { barChartSvg } from './svg_chart.js';

/** A paired line: one case at one level and request size, inline against auto. */
interface Pair {
  case: CaseName;
  level: 5 | 6;
  blockBytes: number;
  inline?: HeadlineRow;
  auto?: HeadlineRow;
}

export function planFor(flags: HeadlineFlags): HeadlinePlan {
  const quick = flags.quick === true;
  return {
    levels: [
      { level: 6, members: 6 },
      { level: 5, members: 4 },
    ],
    blockSizes: [4096, 131072],
    streams: flags.streams,
    runs: flags.runs ?? (quick ? 3 : 5),
    dataBytes: flags.size ?? (quick ? 64 << 20 : 256 << 20),
    chunk: 512 * 1024,
    workers: flags.workers,
    cold: flags.cold === true,
    memberIo: flags.memberIo ?? 'queue',
    ...(flags.dir ? { dir: flags.dir } : {}),
  };
}

export function pairs(rows: readonly HeadlineRow[]): Pair[] {
  const out = new Map<string, Pair>();
  for (const r of rows) {
    const key = `${r.level}/${r.blockBytes}/${CASES.indexOf(r.case)}`;
    const p = out.get(key) ?? { case: r.case, level: r.level, blockBytes: r.blockBytes };
    p[r.policy] = r;
    out.set(key, p);
  }
  return [...out.values()].sort((a, b) => b.level - a.level || (a.blockBytes > 131072 ? 1 : 0) - (b.blockBytes > 131072 ? 1 : 0) || a.blockBytes - b.blockBytes || CASES.indexOf(a.case) - CASES.indexOf(b.case));
}

const kib = (b: number) => (b >= 1048576 ? `${b / 1048576}M` : `${b / 1024}K`);
const pct = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : `${(x * 100).toFixed(0)}%`);
const mbps = (r: HeadlineRow | undefined) => (r ? `${r.mbps.toFixed(0)} (${r.mbpsMin.toFixed(0)}-${r.mbpsMax.toFixed(0)})` : '-');
const gain = (p: Pair) => (p.inline && p.auto ? `${p.auto.mbps >= p.inline.mbps ? '+' : ''}${((p.auto.mbps / p.inline.mbps - 1) * 100).toFixed(0)}%` : '-');

/** The data-path targets, judged on this run: RAID-6 128 KiB rows, degraded read with two missing, resync and check. */
export function verdicts(ps: readonly Pair[]): Array<{ target: string; level: number; value: string; met: boolean }> {
  const out: Array<{ target: string; level: number; value: string; met: boolean }> = [];
  const x = (r: number) => `${r.toFixed(2)}x`;
  for (const p of ps) {
    if (!p.inline || !p.auto || p.level !== 6) continue;
    const ratio = p.auto.mbps / p.inline.mbps;
    const cpu = p.auto.mainThreadCpu;
    if (p.case === 'seq-write' && p.blockBytes === 131072) {
      out.push({ target: 'seq write 128K, workers vs inline >= 1.5x', level: p.level, value: x(ratio), met: ratio >= 1.5 });
      const ms = p.auto.mainMsPerMB;
      out.push({ target: 'main-thread CPU per MB written, workers <= 0.25 ms', level: p.level, value: ms === null ? 'n/a' : `${ms.toFixed(2)} ms`, met: ms !== null && ms <= 0.25 });
    }
    if (p.case === 'degraded-read-2' && p.blockBytes === 131072) out.push({ target: 'degraded read (2 missing) 128K, workers vs inline >= 1.55x', level: p.level, value: x(ratio), met: ratio >= 1.55 });
    if (p.case === 'resync' || p.case === 'check') {
      out.push({ target: `${p.case}: workers main thread <= 15% CPU at >= 1.3x inline speed`, level: p.level, value: `main ${pct(cpu)}, speed ${x(ratio)}`, met: cpu !== null && cpu <= 0.15 && ratio >= 1.3 });
    }
    if (p.case === 'resync') out.push({ target: 'event-loop p99 delay during resync, workers <= 5 ms', level: p.level, value: `${p.auto.loopP99Ms.toFixed(1)} ms`, met: p.auto.loopP99Ms <= 5 });
  }
  return out;
}

function tableLines(ps: readonly Pair[], md: boolean): string[] {
  const head = ['case', 'level', 'block', 'inline MB/s (min-max)', 'inline main CPU', 'auto MB/s (min-max)', 'auto main CPU', 'auto vs inline', 'main ms/MB i/a', 'loop p99 ms i/a', 'proc CPU i/a', 'main wait i/a', 'others wait i/a'];
  const ms = (x: number | null | undefined) => (x === null || x === undefined ? '-' : x.toFixed(2));
  const cores = (x: number | null | undefined) => (x === null || x === undefined ? '-' : x.toFixed(2));
  const rows = ps.map((p) => [
    p.case,
    `raid${p.level}`,
    kib(p.blockBytes),
    mbps(p.inline),
    pct(p.inline?.mainThreadCpu),
    mbps(p.auto),
    pct(p.auto?.mainThreadCpu),
    gain(p),
    `${ms(p.inline?.mainMsPerMB)}/${ms(p.auto?.mainMsPerMB)}`,
    `${ms(p.inline?.loopP99Ms)}/${ms(p.auto?.loopP99Ms)}`,
    `${cores(p.inline?.processCpu)}/${cores(p.auto?.processCpu)}`,
    `${pct(p.inline?.mainThreadWait)}/${pct(p.auto?.mainThreadWait)}`,
    `${cores(p.inline?.othersWait)}/${cores(p.auto?.othersWait)}`,
  ]);
  if (md) return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i < 3 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(head), ...rows.map(line)];
}

function describe(plan: HeadlinePlan): string {
  return (
    `RAID-6 (6 members) and RAID-5 (4 members), chunk ${plan.chunk / 1024}K, ${plan.dataBytes / 2 ** 20} MiB of data per array; ${plan.streams} concurrent streams, 1 request in flight each; ` +
    `128K passes move ${passBytes(plan, 131072, false) / 2 ** 20} MiB, 4K passes ${passBytes(plan, 4096, false) / 2 ** 20} MiB (random-rw half that); median of ${plan.runs} runs; ` +
    `inline = no workers, auto = ${plan.workers} workers under policy auto (operations under 64 KiB stay inline by the cost model)`
  );
}

const NOTES = [
  'MB/s are array data bytes per second; resync and check: array data covered per second (block = stripe unit, md walks stripe heads).',
  'main CPU = the main thread\'s own CPU time over wall time (/proc/thread-self/schedstat), not the process\'s: worker and libuv threads are excluded.',
  'proc CPU = cores the whole process kept busy; main wait = share of wall time the main thread was runnable but had no CPU (schedstat run_delay); others wait = worker and libuv threads waiting for a CPU, on average (i = inline, a = auto). Large waits mean the cores were taken (other processes, or our own threads), not that the work was slow.',
];

async function writeReport(dir: string, command: string, plan: HeadlinePlan, res: HeadlineResult, ps: readonly Pair[], load: { before: number[]; after: number[]; psi: string }): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  const charts: string[] = [];
  for (const level of [6, 5] as const) {
    const lp = ps.filter((p) => p.level === level);
    if (lp.length === 0) continue;
    const categories = lp.map((p) => `${p.case} ${kib(p.blockBytes)}`);
    const series = (metric: (r: HeadlineRow) => number | null) => [
      { name: 'inline', color: '#8c8c8c', values: lp.map((p) => (p.inline ? metric(p.inline) : null)) },
      { name: `auto (${lp.find((p) => p.auto)?.auto?.engines ?? 'workers'})`, color: '#1f77b4', values: lp.map((p) => (p.auto ? metric(p.auto) : null)) },
    ];
    const files = [
      { name: `raid${level}-mbps.svg`, svg: barChartSvg({ title: `RAID-${level}: throughput, inline vs auto`, unit: 'MB/s (median)', categories, series: series((r) => r.mbps) }) },
      { name: `raid${level}-cpu.svg`, svg: barChartSvg({ title: `RAID-${level}: main-thread CPU, inline vs auto`, unit: 'main-thread CPU, % of one core', categories, series: series((r) => (r.mainThreadCpu === null ? null : r.mainThreadCpu * 100)), format: (v) => `${v.toFixed(0)}%` }) },
    ];
    for (const f of files) {
      await writeFile(join(dir, f.name), f.svg);
      written.push(join(dir, f.name));
      charts.push(`![${f.name}](${f.name})`);
    }
  }
  const v = verdicts(ps);
  const md = [
    '# asynctx headline benchmark',
    '',
    `Command: \`${command}\``,
    '',
    `Machine: ${machine()}; load average ${load.before.map((x) => x.toFixed(2)).join(' ')} before, ${load.after.map((x) => x.toFixed(2)).join(' ')} after; ${load.psi} (other processes share the CPUs).`,
    '',
    `Setup: ${describe(plan)}. Took ${res.seconds.toFixed(0)} s.`,
    '',
    `Page cache: ${res.pageCache.text.replace(/^page cache /, '')}.`,
    '',
    `Engines: ${engines(res.rows)}.`,
    '',
    `Contention: ${contention(res.rows)}.`,
    '',
    ...tableLines(ps, true),
    '',
    ...NOTES.map((n) => `- ${n}`),
    '',
    '## Targets (auto vs inline, measured in this run)',
    '',
    '| target | level | measured | met |',
    '|---|---|---|---|',
    ...v.map((x) => `| ${x.target} | raid${x.level} | ${x.value} | ${x.met ? 'yes' : 'no'} |`),
    '',
    '## Charts',
    '',
    ...charts.flatMap((c) => [c, '']),
  ].join('\n');
  await writeFile(join(dir, 'README.md'), md);
  written.push(join(dir, 'README.md'));
  return written;
}

/** What the two policies ran on, from the rows. */
function engines(rows: readonly HeadlineRow[]): string {
  const array = rows.filter((r) => !r.case.startsWith('raw-'));
  return `inline = ${array.find((r) => r.policy === 'inline')?.engines ?? '-'}; auto = ${array.find((r) => r.policy === 'auto')?.engines ?? '-'}`;
}

/** The measured share of the machine this run got: medians over every row of the main thread's wait for a CPU and of the process's cores. */
function contention(rows: readonly HeadlineRow[]): string {
  const waits = rows.map((r) => r.mainThreadWait).filter((x): x is number => x !== null);
  const cores = rows.map((r) => r.processCpu);
  if (waits.length === 0) return 'unknown (no schedstat)';
  const m = median(waits);
  return (
    `the main thread waited for a CPU ${pct(m)} of wall time (median over rows) and the process kept ${median(cores).toFixed(2)} of ${cpus().length} cores busy` +
    (m > 0.2 ? ' - other processes held the cores: ratios here measure the scheduler as much as the work' : '')
  );
}

export async function headline(flags: HeadlineFlags): Promise<void> {
  const out = (s: string) => void process.stdout.write(`${s}\n`);
  const err = (s: string) => void process.stderr.write(`${s}\n`);
  const plan0 = planFor(flags);
  const command = `asynctx ${process.argv.slice(2).join(' ')}`;
  if (!flags.json) {
    out(`asynctx bench headline: ${describe(plan0)}`);
    out(`machine: ${machine()}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  }
  const before = loadavg();
  const psiBefore = cpuPressure();
  let n = 0;
  const res = await runHeadline({ ...plan0, onSample: flags.json ? undefined : (label) => err(`  [${++n}] ${label}`) });
  const after = loadavg();
  const psiAfter = cpuPressure();
  const ps = pairs(res.rows);
  if (flags.json) {
    for (const r of res.rows) {
      const { case: c, level, blockBytes, policy, mbps: m, mainThreadCpu, ...rest } = r;
      out(JSON.stringify({ case: c, level, blockBytes, policy, mbps: m, mainThreadCpu, ...rest }));
    }
    err(res.pageCache.text);
  } else {
    out(res.pageCache.text);
    out(`engines: ${engines(res.rows)}`);
    for (const l of tableLines(ps, false)) out(l);
    for (const note of NOTES) out(note);
    out(`contention: ${contention(res.rows)}`);
    out('targets (auto vs inline, this run):');
    for (const v of verdicts(ps)) out(`  ${v.met ? 'MET    ' : 'NOT MET'} raid${v.level} ${v.target}: ${v.value}`);
    out(`load average after: ${after.map((x) => x.toFixed(2)).join(' ')}; ${psiBefore} before, ${psiAfter} after; took ${res.seconds.toFixed(0)} s`);
  }
  if (flags.report) {
    const files = await writeReport(flags.report, command, plan0, res, ps, { before, after, psi: `${psiBefore} before, ${psiAfter} after` });
    (flags.json ? err : out)(`report: ${files.join(', ')}`);
  }
}
