// The Debian packages an image installs. A version pin (`curl=7.88.1-10`)
// is what makes an install repeatable, so pins win over unpinned mentions of
// the same package, two pins of one package are an error, and what stays
// unpinned is named at build time.

/** What apt-get installs: sorted, without duplicates; a package pinned anywhere replaces its unpinned mentions. */
export function installList(packages: string[]): string[] {
  const pinned = new Set(packages.filter(isPinned).map(nameOf));
  return [...new Set(packages.filter((p) => isPinned(p) || !pinned.has(p)))].sort();
}

/** Packages pinned to more than one version, with those versions in order of mention. */
export function pinConflicts(packages: string[]): [string, string[]][] {
  const versions = new Map<string, string[]>();
  for (const p of packages.filter(isPinned)) {
    const seen = versions.get(nameOf(p)) ?? [];
    const version = p.slice(p.indexOf('=') + 1);
    if (!seen.includes(version)) versions.set(nameOf(p), [...seen, version]);
  }
  return [...versions].filter(([, v]) => v.length > 1);
}

/** The packages of an install list that apt-get installs at whatever version the mirror has. */
export function unpinned(packages: string[]): string[] {
  return packages.filter((p) => !isPinned(p));
}

function isPinned(p: string): boolean {
  return p.includes('=');
}

function nameOf(p: string): string {
  return isPinned(p) ? p.slice(0, p.indexOf('=')) : p;
}
