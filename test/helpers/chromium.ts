// A real browser for the status page's tests: Debian's headless chromium,
// driven over the DevTools protocol on a pipe (--remote-debugging-pipe:
// JSON messages ended by a NUL byte, on its fds 3 and 4), so no WebSocket
// client and no browser download are needed. Every request the page makes
// and every dialog it opens is recorded.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { findProgram } from '../../src/unix/find-program.js';

/** The chromium to run, or undefined (the browser tests are then skipped, saying so). */
export const chromium = findProgram('chromium', process.env.PATH) ?? findProgram('chromium-browser', process.env.PATH);
export const noChromium = chromium ? undefined : 'no chromium on PATH (apt-get install chromium)';

type Message = { id?: number; method?: string; params?: Record<string, unknown>; result?: Record<string, unknown>; error?: { message: string }; sessionId?: string };

export interface Page {
  /** every URL the page asked for (the document, fetches, favicon), in order */
  requests: string[];
  /** messages of dialogs the page opened (alert, confirm) */
  dialogs: string[];
  /** the value of a JavaScript expression in the page (awaited when it is a promise) */
  evaluate<T>(expression: string): Promise<T>;
  /** resolves with the expression's value once it is truthy; rejects after `timeoutMs`, with the last value seen */
  waitFor<T>(expression: string, timeoutMs?: number): Promise<T>;
  /** a PNG of the page as shown */
  screenshot(): Promise<Buffer>;
  /** the viewport's size in CSS pixels (a phone: 390 wide) */
  resize(width: number, height: number): Promise<void>;
}

export interface Browser {
  /** opens `url` in a new tab, `width` × `height`, once its load event fired */
  open(url: string, size?: { width: number; height: number }, javascript?: boolean): Promise<Page>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  if (!chromium) throw new Error(noChromium);
  const profile = mkdtempSync(join(tmpdir(), 'berth-chromium-'));
  const args = ['--headless', '--remote-debugging-pipe', `--user-data-dir=${profile}`, '--no-first-run', '--disable-gpu', '--disable-extensions', '--disable-background-networking', '--hide-scrollbars', '--mute-audio'];
  // chromium's sandbox refuses to run as root
  if (process.getuid?.() === 0) args.push('--no-sandbox');
  const proc = spawn(chromium, [...args, 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const cdp = new Connection(proc, () => stderr);
  return {
    async open(url, size = { width: 1100, height: 500 }, javascript = true) {
      const { targetId } = await cdp.send('Target.createTarget', { url: 'about:blank' });
      const { sessionId } = (await cdp.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
      const send = (method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> => cdp.send(method, params, sessionId);
      const page: Page = {
        requests: [],
        dialogs: [],
        async evaluate<T>(expression: string) {
          const r = (await send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true })) as { result: { value: T }; exceptionDetails?: { text: string; exception?: { description?: string } } };
          if (r.exceptionDetails) throw new Error(`${expression}: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
          return r.result.value;
        },
        async waitFor<T>(expression: string, timeoutMs = 15_000) {
          const deadline = Date.now() + timeoutMs;
          for (;;) {
            const value = await page.evaluate<T>(expression);
            if (value) return value;
            if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${expression}; last: ${JSON.stringify(value)}`);
            await new Promise((r) => setTimeout(r, 100));
          }
        },
        async screenshot() {
          const { data } = (await send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true })) as { data: string };
          return Buffer.from(data, 'base64');
        },
        async resize(width, height) {
          await send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: width < 600 });
        },
      };
      cdp.listen(sessionId, (method, params) => {
        if (method === 'Network.requestWillBeSent') page.requests.push((params.request as { url: string }).url);
        if (method === 'Page.javascriptDialogOpening') {
          page.dialogs.push(params.message as string);
          void send('Page.handleJavaScriptDialog', { accept: true });
        }
      });
      await Promise.all([send('Network.enable'), send('Page.enable'), send('Runtime.enable')]);
      if (!javascript) await send('Emulation.setScriptExecutionDisabled', { value: true });
      await page.resize(size.width, size.height);
      const loaded = cdp.once(sessionId, 'Page.loadEventFired');
      const nav = (await send('Page.navigate', { url })) as { errorText?: string };
      if (nav.errorText) throw new Error(`cannot open ${url}: ${nav.errorText}`);
      await loaded;
      return page;
    },
    async close() {
      await cdp.send('Browser.close').catch(() => undefined);
      if (proc.exitCode === null && proc.signalCode === null) await new Promise((r) => proc.once('close', r));
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The DevTools protocol over chromium's fds 3 (to it) and 4 (from it). */
class Connection {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void; method: string }>();
  private readonly listeners = new Set<(m: Message) => void>();
  private readonly toBrowser: Writable;
  private buffered = Buffer.alloc(0);
  private closed = false;

  constructor(proc: ChildProcess, stderr: () => string) {
    this.toBrowser = proc.stdio[3] as Writable;
    (proc.stdio[4] as Readable).on('data', (chunk: Buffer) => this.receive(chunk));
    proc.once('close', (code, signal) => {
      this.closed = true;
      for (const w of this.waiting.values()) w.reject(new Error(`chromium exited (${signal ?? code}) before answering ${w.method}; its stderr:\n${stderr()}`));
      this.waiting.clear();
    });
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    if (this.closed) return Promise.reject(new Error(`chromium is gone; cannot send ${method}`));
    const id = this.nextId++;
    this.toBrowser.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    return new Promise((resolve, reject) => this.waiting.set(id, { resolve, reject, method }));
  }

  /** Calls `fn` with each event of the session. */
  listen(sessionId: string, fn: (method: string, params: Record<string, unknown>) => void): void {
    this.listeners.add((m) => m.sessionId === sessionId && m.method !== undefined && fn(m.method, m.params ?? {}));
  }

  once(sessionId: string, method: string): Promise<Record<string, unknown>> {
    return new Promise((resolve) => {
      const listener = (m: Message): void => {
        if (m.sessionId !== sessionId || m.method !== method) return;
        this.listeners.delete(listener);
        resolve(m.params ?? {});
      };
      this.listeners.add(listener);
    });
  }

  private receive(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    let end: number;
    while ((end = this.buffered.indexOf(0)) !== -1) {
      const message = JSON.parse(this.buffered.subarray(0, end).toString('utf8')) as Message;
      this.buffered = this.buffered.subarray(end + 1);
      if (message.id !== undefined) {
        const w = this.waiting.get(message.id);
        this.waiting.delete(message.id);
        if (message.error) w?.reject(new Error(`${w.method}: ${message.error.message}`));
        else w?.resolve(message.result ?? {});
      } else for (const l of [...this.listeners]) l(message);
    }
  }
}
