// /healthz, /readyz and /metrics as text: what the HTTP endpoint serves,
// made from the same status the control channel answers.
import type { InitPhase, StatusRecord } from './state-dir.js';
import type { Totals } from '../procfs/stats.js';

export interface HealthView {
  init: { pid: number; phase: InitPhase };
  services: Array<StatusRecord & { essential: boolean }>;
}

const RUNNING = new Set(['starting', 'up', 'stopping', 'running']);

/** 200 while no essential service has failed and no job has failed its failureThreshold of runs in a row. */
export function healthz(v: HealthView): { status: number; body: string } {
  const failed = v.services.filter((s) => s.essential && s.state === 'failed').map((s) => s.name);
  const unhealthy = v.services.filter((s) => s.unhealthy).map((s) => `${s.name} (${s.consecutiveFailures} failed runs in a row)`);
  const why = [...(failed.length ? [`failed: ${failed.join(', ')}`] : []), ...(unhealthy.length ? [`unhealthy: ${unhealthy.join(', ')}`] : [])];
  return why.length ? { status: 503, body: `${why.join('; ')}\n` } : { status: 200, body: 'ok\n' };
}

/** 200 when every long-run is ready (up) and the init is not stopping (a pre-stop delay lets load balancers see that). */
export function readyz(v: HealthView): { status: number; body: string } {
  if (v.init.phase === 'stopping') return { status: 503, body: 'stopping\n' };
  const waiting = v.services.filter((s) => s.type === 'long-run' && s.state !== 'up');
  return waiting.length ? { status: 503, body: `not ready: ${waiting.map((s) => `${s.name} (${s.state})`).join(', ')}\n` } : { status: 200, body: 'ready\n' };
}

const STATE_NAMES = ['down', 'starting', 'up', 'backoff', 'stopping', 'stopped', 'finished', 'failed', 'waiting', 'running'];

/** Prometheus text exposition format 0.0.4. */
export function renderMetrics(v: HealthView, totals: Map<number, Totals>, init: { cpuSeconds: number; memory: number }): string {
  const out: string[] = [];
  const family = (name: string, type: 'gauge' | 'counter', help: string, samples: Array<[string, number]>): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) out.push(`${name}${labels} ${value}`);
  };
  const per = (f: (s: HealthView['services'][number]) => number): Array<[string, number]> => v.services.map((s) => [`{service="${s.name}"}`, f(s)]);
  const usage = (s: StatusRecord): Totals | undefined => (s.pid === null ? undefined : totals.get(s.pid));
  family('berth_service_up', 'gauge', 'Whether the service has a running process (starting, up or stopping).', per((s) => Number(RUNNING.has(s.state))));
  family('berth_service_ready', 'gauge', 'Whether the service is ready (up).', per((s) => Number(s.state === 'up')));
  family('berth_service_restarts_total', 'counter', 'Restarts of the service after it exited.', per((s) => s.restarts));
  family('berth_service_cpu_seconds_total', 'counter', "CPU time (user and system) of the service's processes.", per((s) => usage(s)?.cpuSeconds ?? 0));
  family('berth_service_memory_bytes', 'gauge', "Resident memory of the service's processes, summed.", per((s) => usage(s)?.memory ?? 0));
  family(
    'berth_service_state',
    'gauge',
    'The service state: 1 for the current one.',
    v.services.flatMap((s) => STATE_NAMES.map((state): [string, number] => [`{service="${s.name}",state="${state}"}`, Number(s.state === state)])),
  );
  const limited = v.services.filter((s) => s.enforcedBy !== undefined);
  if (limited.length) {
    const perLimited = (f: (s: StatusRecord) => number | undefined | null, of = limited): Array<[string, number]> => of.map((s) => [`{service="${s.name}"}`, f(s) ?? 0]);
    family('berth_service_oom_kills_total', 'counter', "Exits of the service that were OOM kills at its memory limit (the kernel's, or the watcher's).", perLimited((s) => s.oomKills));
    const withMemory = limited.filter((s) => s.limits?.memory !== undefined);
    if (withMemory.length) {
      family('berth_service_memory_limit_bytes', 'gauge', "The service's memory limit.", perLimited((s) => s.limits?.memory, withMemory));
      family('berth_service_memory_charged_bytes', 'gauge', 'The memory its limit counts: its cgroup\'s usage (page cache included), or the watcher\'s sum of RSS.', perLimited((s) => s.memory, withMemory));
    }
  }
  const jobs = v.services.filter((s) => s.schedule !== undefined);
  if (jobs.length) {
    const seconds = (iso: string | null | undefined): number => (iso ? Date.parse(iso) / 1000 : 0);
    const perJob = (f: (s: StatusRecord) => number): Array<[string, number]> => jobs.map((s) => [`{service="${s.name}"}`, f(s)]);
    family('berth_job_last_start_timestamp_seconds', 'gauge', "When the job's last run started (0: never).", perJob((s) => seconds(s.lastRun?.start)));
    family('berth_job_last_success_timestamp_seconds', 'gauge', "When the job's last successful run ended (0: never).", perJob((s) => seconds(s.lastSuccess)));
    family('berth_job_last_duration_seconds', 'gauge', "How long the job's last finished run took.", perJob((s) => (s.lastRun?.durationMs ?? 0) / 1000));
    family('berth_job_next_run_timestamp_seconds', 'gauge', 'When the job is next due (0: not scheduled, e.g. stopped).', perJob((s) => seconds(s.nextRun)));
    family(
      'berth_job_runs_total',
      'counter',
      'Runs of the job by result: success, failure, or skipped (due but not started).',
      jobs.flatMap((s): Array<[string, number]> => [
        [`{service="${s.name}",result="success"}`, s.succeeded ?? 0],
        [`{service="${s.name}",result="failure"}`, s.failed ?? 0],
        [`{service="${s.name}",result="skipped"}`, s.skipped ?? 0],
      ]),
    );
  }
  family('berth_init_cpu_seconds_total', 'counter', 'CPU time of the init itself.', [['', init.cpuSeconds]]);
  family('berth_init_memory_bytes', 'gauge', 'Resident memory of the init itself.', [['', init.memory]]);
  family('berth_init_stopping', 'gauge', 'Whether the init is shutting down.', [['', Number(v.init.phase === 'stopping')]]);
  return `${out.join('\n')}\n`;
}
