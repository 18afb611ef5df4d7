// Builds the chat page into server/web/dist (committed, embedded in the
// chat server): static/ copied as it is, src/main.ts bundled into app.js.
// With --tests, bundles tests/*.test.ts into .test-build/ for node --test.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

if (process.argv.includes("--tests")) {
  const out = join(here, ".test-build");
  rmSync(out, { recursive: true, force: true });
  const tests = readdirSync(join(here, "tests"))
    .filter((f) => f.endsWith(".test.ts"))
    .map((f) => join(here, "tests", f));
  await build({
    entryPoints: tests,
    outdir: out,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    logLevel: "warning",
  });
} else {
  const dist = join(here, "..", "server", "web", "dist");
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(dist, { recursive: true });
  for (const f of readdirSync(join(here, "static"))) {
    copyFileSync(join(here, "static", f), join(dist, f));
  }
  await build({
    entryPoints: [join(here, "src", "main.ts")],
    outfile: join(dist, "app.js"),
    bundle: true,
    format: "esm",
    target: "es2022",
    charset: "utf8",
    legalComments: "none",
    minify: true,
    logLevel: "warning",
  });
}
