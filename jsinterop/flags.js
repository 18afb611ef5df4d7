// Command-line flags in the style of gRPC's reference interop binaries: `--name=value` or
// `--name value`, booleans as `--flag`, `--flag=true` or `--flag=false`. A bad flag is one
// line on stderr and exit status 2, as for every Polychat command.

/** Print `error: message` on stderr and exit 2. */
export function usageError(message) {
  process.stderr.write(`error: ${message}\n`);
  process.exit(2);
}

const TRUE = new Set(['true', '1', 'yes']);
const FALSE = new Set(['false', '0', 'no']);

/**
 * Parse `argv` against `spec` ({name: 'string' | 'bool' | 'port'}); returns {name: value}.
 * Unknown flags and bad values are usage errors.
 */
export function parseFlags(argv, spec) {
  const values = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const match = /^--([a-z_]+)(?:=(.*))?$/.exec(arg);
    if (!match || !(match[1] in spec)) {
      usageError(`unknown flag ${JSON.stringify(arg)}`);
    }
    const [, name, inline] = match;
    const kind = spec[name];
    let text = inline;
    if (text === undefined && kind !== 'bool') {
      if (i + 1 >= argv.length) usageError(`--${name} needs a value`);
      text = argv[++i];
    }
    values[name] = convert(name, kind, text);
  }
  return values;
}

function convert(name, kind, text) {
  if (kind === 'bool') {
    if (text === undefined) return true;
    const lowered = text.toLowerCase();
    if (TRUE.has(lowered)) return true;
    if (FALSE.has(lowered)) return false;
    usageError(`--${name}: ${JSON.stringify(text)} is not true or false`);
  }
  if (kind === 'port') {
    const port = Number(text);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      usageError(`--${name}: ${JSON.stringify(text)} is not a port number (1-65535)`);
    }
    return port;
  }
  return text;
}

/** The contents of the PEM file at `file` (named `flag` in the error), or a usage error. */
export async function readPem(file, flag) {
  const { readFile } = await import('node:fs/promises');
  let data;
  try {
    data = await readFile(file);
  } catch (err) {
    usageError(`cannot read ${flag} ${file}: ${err.code ?? err.message}`);
  }
  if (!data.includes('-----BEGIN ')) usageError(`${flag} ${file} is not a PEM file`);
  return data;
}
