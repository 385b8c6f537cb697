// The md-verify VM: a Debian 6.1 kernel booted under QEMU with an initramfs that
// holds busybox, mdadm and the raid456 modules. Member images are attached as
// virtio-scsi disks, one SCSI target per image, and a job script (plain sh) is
// appended to the initramfs; its output comes back over the serial console.
//
// Everything downloaded or built lives in the cache folder (ignored by git).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync, realpathSync, rmSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(here, '..', '..');
export const CACHE = process.env.MD_VERIFY_CACHE ?? join(ROOT, '.md-verify-cache');

const PACKAGES = ['linux-image-amd64', 'mdadm', 'busybox-static'];
/** Modules the init loads (dependencies are added from each module's .modinfo). */
const WANTED = ['virtio_pci', 'virtio_scsi', 'sd_mod', 'raid456'];

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** Downloads (apt-get download) and unpacks the kernel, mdadm and busybox into CACHE/root. */
function fetchPackages() {
  const debs = join(CACHE, 'debs');
  const root = join(CACHE, 'root');
  if (existsSync(join(root, '.done'))) return root;
  mkdirSync(debs, { recursive: true });
  // linux-image-amd64 is a metapackage: follow it to the real image.
  const dep = sh('apt-cache', ['depends', 'linux-image-amd64']).match(/Depends: (linux-image-[^\s]+)/);
  if (!dep) throw new Error('apt-cache depends linux-image-amd64 names no image');
  sh('apt-get', ['download', dep[1], 'mdadm', 'busybox-static'], { cwd: debs });
  mkdirSync(root, { recursive: true });
  for (const d of readdirSync(debs)) if (d.endsWith('.deb')) sh('dpkg-deb', ['-x', join(debs, d), root]);
  writeFileSync(join(root, '.done'), PACKAGES.join('\n'));
  return root;
}

/** The string value of `key=` in a kernel module's .modinfo. */
function modinfo(buf, key) {
  const needle = Buffer.from(`\0${key}=`);
  const i = buf.indexOf(needle);
  if (i < 0) return '';
  const start = i + needle.length;
  return buf.subarray(start, buf.indexOf(0, start)).toString();
}

/** Module files in load order (dependencies first). */
function resolveModules(modRoot) {
  const byName = new Map();
  const walk = (d) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (e.endsWith('.ko')) byName.set(e.slice(0, -3).replace(/-/g, '_'), p);
    }
  };
  walk(join(modRoot, 'kernel'));
  const order = [];
  const seen = new Set();
  const visit = (name) => {
    const n = name.replace(/-/g, '_');
    if (seen.has(n)) return;
    seen.add(n);
    const p = byName.get(n);
    if (!p) throw new Error(`module ${n} not found`);
    const deps = modinfo(readFileSync(p), 'depends');
    for (const d of deps.split(',').filter(Boolean)) visit(d);
    order.push(p);
  };
  // The md modules' soft dependencies that raid456 needs at run time.
  for (const w of ['crc32c_generic', ...WANTED]) visit(w);
  return order;
}

/** A newc cpio archive of entries {name, mode, data?, target?}. */
export function cpio(entries) {
  const parts = [];
  let ino = 1;
  const hdr = (name, mode, size) => {
    const f = (n) => n.toString(16).padStart(8, '0');
    const nameBuf = Buffer.from(name + '\0');
    const h = '070701' + [ino++, mode, 0, 0, 1, 0, size, 0, 0, 0, 0, nameBuf.length, 0].map(f).join('');
    const head = Buffer.concat([Buffer.from(h), nameBuf]);
    parts.push(head, Buffer.alloc((4 - (head.length % 4)) % 4));
  };
  for (const e of entries) {
    const data = e.data ?? (e.target !== undefined ? Buffer.from(e.target) : Buffer.alloc(0));
    hdr(e.name, e.mode, data.length);
    parts.push(data, Buffer.alloc((4 - (data.length % 4)) % 4));
  }
  hdr('TRAILER!!!', 0, 0);
  return Buffer.concat(parts);
}

/** Builds (once) the base initramfs and returns {kernel, initrd}. */
export function buildBase() {
  const out = join(CACHE, 'base');
  const kernelOut = join(out, 'vmlinuz');
  const initrdOut = join(out, 'base.cpio.gz');
  const initSrc = readFileSync(join(here, 'init.sh'));
  const stamp = join(out, 'stamp');
  const stampText = `${PACKAGES.join(',')}\n${WANTED.join(',')}\n${initSrc.toString('hex').slice(0, 0)}${initSrc.length}:${hash(initSrc)}`;
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === stampText) return { kernel: kernelOut, initrd: initrdOut };
  const root = fetchPackages();
  mkdirSync(out, { recursive: true });
  const boot = readdirSync(join(root, 'boot')).find((f) => f.startsWith('vmlinuz-'));
  const kver = boot.slice('vmlinuz-'.length);
  writeFileSync(kernelOut, readFileSync(join(root, 'boot', boot)));
  const entries = [];
  const dirs = new Set();
  const addDir = (d) => {
    if (!d || dirs.has(d)) return;
    addDir(dirname(d) === '.' ? '' : dirname(d));
    dirs.add(d);
    entries.push({ name: d, mode: 0o40755 });
  };
  const addFile = (name, data, mode = 0o100755) => {
    addDir(dirname(name));
    entries.push({ name, mode, data });
  };
  for (const d of ['bin', 'sbin', 'dev', 'proc', 'sys', 'run', 'tmp', 'etc', 'lib', 'lib64', 'job', 'mods']) addDir(d);
  addFile('bin/busybox', readFileSync(join(root, 'bin/busybox')));
  addFile('init', initSrc);
  addFile('sbin/mdadm', readFileSync(join(root, 'sbin/mdadm')));
  // mdadm's shared libraries, from this machine (same Debian release).
  const ldd = sh('ldd', [join(root, 'sbin/mdadm')]);
  for (const m of ldd.matchAll(/(\/[^\s]+\.so[^\s]*)/g)) {
    const p = m[1];
    addFile(p.replace(/^\//, ''), readFileSync(realpathSync(p)));
  }
  const mods = resolveModules(join(root, 'lib/modules', kver));
  const names = [];
  for (const p of mods) {
    const n = basename(p);
    addFile(`mods/${n}`, readFileSync(p), 0o100644);
    names.push(n);
  }
  addFile('mods/order', Buffer.from(names.join('\n') + '\n'), 0o100644);
  addFile('etc/mdadm.conf', Buffer.from('DEVICE /dev/sd*\nHOMEHOST <ignore>\n'), 0o100644);
  writeFileSync(initrdOut, gzipSync(cpio(entries)));
  writeFileSync(stamp, stampText);
  return { kernel: kernelOut, initrd: initrdOut };
}

function hash(b) {
  let h = 0;
  for (const x of b) h = (Math.imul(h, 31) + x) | 0;
  return (h >>> 0).toString(16);
}

/**
 * Boots the VM with `disks` (image paths; disk i is SCSI target i, `dev i` in the
 * job) and runs `job` (sh). Resolves with {text, complete}: the console text
 * from "@@JOB-START", and whether the job ran to its end ("@@JOB-END"); an
 * unfinished run gives all of its console text and its tail.
 */
export async function runVm({ disks, job, timeoutMs = 600_000, memMb = 2048, log }) {
  return bootVm({ disks, job, timeoutMs, memMb, log, accel: await accel() });
}

/**
 * KVM when it boots this kernel, else TCG (a nested /dev/kvm may hang in the
 * kernel's decompressor). Probed once and remembered in the cache;
 * MD_VERIFY_ACCEL=kvm|tcg overrides.
 */
async function accel() {
  if (process.env.MD_VERIFY_ACCEL) return process.env.MD_VERIFY_ACCEL;
  if (!existsSync('/dev/kvm')) return 'tcg';
  const file = join(CACHE, 'accel');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  let a = 'kvm';
  const probe = await bootVm({ disks: [], job: 'true', timeoutMs: 60_000, memMb: 512, accel: 'kvm' }).catch(() => null);
  if (!probe?.complete) a = 'tcg';
  process.stderr.write(`[md-verify] accelerator: ${a}${a === 'tcg' ? ' (KVM did not boot the guest within 60 s)' : ''}\n`);
  writeFileSync(file, a);
  return a;
}

let jobSeq = 0;
function bootVm({ disks, job, timeoutMs, memMb, log, accel }) {
  const { kernel, initrd } = buildBase();
  const jobDir = join(CACHE, 'jobs');
  mkdirSync(jobDir, { recursive: true });
  const jobInitrd = join(jobDir, `job-${process.pid}-${jobSeq++}.cpio`);
  const jobText = `NDISKS=${disks.length}\n${job}\n`;
  // The kernel unpacks concatenated archives in order: the job lands on top of the base.
  // The kernel parses a plain cpio that follows a compressed one only from a 4-byte boundary.
  const base = readFileSync(initrd);
  writeFileSync(jobInitrd, Buffer.concat([base, Buffer.alloc((4 - (base.length % 4)) % 4), cpio([{ name: 'job/job.sh', mode: 0o100644, data: Buffer.from(jobText) }])]));
  const kvm = accel === 'kvm';
  const args = [
    '-nographic', '-no-reboot', '-m', String(memMb), '-smp', '2',
    ...(kvm ? ['-enable-kvm', '-cpu', process.env.MD_VERIFY_CPU ?? 'host,-arch-capabilities'] : ['-cpu', process.env.MD_VERIFY_TCG_CPU ?? 'max']),
    '-kernel', kernel, '-initrd', jobInitrd,
    '-append', `console=ttyS0 earlyprintk=serial panic=-1 ${process.env.MD_VERIFY_APPEND ?? ""} ${process.env.MD_VERIFY_VERBOSE ? '' : 'quiet loglevel=4'}`,
    '-device', 'virtio-scsi-pci,id=scsi0',
    '-net', 'none',
  ];
  disks.forEach((p, i) => {
    args.push('-drive', `file=${p},format=raw,if=none,id=d${i},cache=unsafe,aio=threads`);
    args.push('-device', `scsi-hd,drive=d${i},bus=scsi0.0,channel=0,scsi-id=${i},lun=0`);
  });
  return new Promise((resolve, reject) => {
    const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d) => {
      text += d.toString('latin1');
      if (log) log(d.toString('latin1'));
    });
    child.stderr.on('data', (d) => (text += d.toString('latin1')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      rmSync(jobInitrd, { force: true });
      const i = text.indexOf('@@JOB-START');
      const clean = text.replace(/\r/g, '');
      // An unfinished job still resolves: its output so far says which parts ran.
      if (i < 0 || !text.includes('@@JOB-END')) resolve({ text: clean, complete: false, tail: clean.slice(-3000), code });
      else resolve({ text: clean.slice(clean.indexOf('@@JOB-START')), complete: true, code });
    });
  });
}
