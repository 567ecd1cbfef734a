// TypeDoc plugin (docs/typedoc.json "plugin"): gives every top-level export of an entry point a
// `@category` from the folder or file that declares it, so each module's index is grouped
// (Devices, Commands, Sense, Errors, Transports, ...) without a tag on each of ~300 declarations.
// An explicit `@category` tag in a declaration's comment wins; `@deprecated` exports go to
// "Deprecated". The order of the categories is "categoryOrder" in docs/typedoc.json.
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Comment, CommentTag, Converter, ReflectionKind } from 'typedoc';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** First matching prefix (of the path from the repository root) decides. */
export const CATEGORY_BY_PATH = [
  ['packages/core/src/device', 'Devices'],
  ['packages/core/src/logical-unit.ts', 'Devices'],
  ['packages/core/src/scsi/', 'Commands'],
  ['packages/core/src/sense/', 'Sense'],
  ['packages/core/src/errors.ts', 'Errors'],
  ['packages/core/src/transport.ts', 'Transports'],
  ['packages/core/src/bot/', 'Transports'],
  ['packages/core/src/quirk', 'Quirks'],
  ['packages/core/src/trace.ts', 'Tracing'],
  ['packages/core/src/capture/', 'Capture'],
  ['packages/core/src/sat/', 'ATA (SAT)'],
  ['packages/core/src/bridge/', 'Bridges'],
  ['packages/core/src/remote/', 'Remote'],
  ['packages/core/src/sim/faults.ts', 'Fault injection'],
  ['packages/core/src/sim/raw-host.ts', 'Raw host'],
  ['packages/core/src/sim/sat-target.ts', 'Simulated drives and bridges'],
  ['packages/core/src/sim/nvme-drive.ts', 'Simulated drives and bridges'],
  ['packages/core/src/sim/ata-bridges.ts', 'Simulated drives and bridges'],
  ['packages/core/src/sim/nvme-bridges.ts', 'Simulated drives and bridges'],
  ['packages/core/src/sim/', 'Simulator'],
  ['packages/node/src/serve/', 'Remote'],
  ['packages/node/src/transport.ts', 'Transports'],
  ['packages/node/src/usbfs/', 'Transports'],
  ['packages/node/src/usb-types.ts', 'Transports'],
  ['packages/node/src/', 'Devices'],
  ['packages/web/src/fake/', 'Fakes'],
  ['packages/web/src/transport.ts', 'Transports'],
  ['packages/web/src/webusb-types.ts', 'Transports'],
  ['packages/web/src/', 'Devices'],
];

function categoryOf(path) {
  for (const [prefix, category] of CATEGORY_BY_PATH) if (path.startsWith(prefix)) return category;
  return undefined;
}

/** The comment that holds a declaration's tags: its own, else its first signature's. */
function tagHolder(reflection) {
  if (reflection.comment) return reflection.comment;
  const signature = reflection.signatures?.[0];
  if (signature?.comment) return signature.comment;
  reflection.comment = new Comment();
  return reflection.comment;
}

function hasTag(reflection, tag) {
  const comments = [reflection.comment, ...(reflection.signatures ?? []).map((s) => s.comment)];
  return comments.some((c) => c?.blockTags.some((t) => t.tag === tag) || c?.modifierTags.has(tag));
}

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(
    Converter.EVENT_RESOLVE_END,
    (context) => {
      for (const module of context.project.getReflectionsByKind(ReflectionKind.Module)) {
        for (const child of module.children ?? []) {
          if (hasTag(child, '@category')) continue;
          const source = child.sources?.[0]?.fullFileName;
          const category = hasTag(child, '@deprecated') ? 'Deprecated' : source && categoryOf(relative(root, source).split('\\').join('/'));
          if (category === undefined) {
            app.logger.warn(`typedoc-categories: no category for ${module.name}.${child.name} (${source ?? 'no source'})`);
            continue;
          }
          tagHolder(child).blockTags.push(new CommentTag('@category', [{ kind: 'text', text: category }]));
        }
      }
    },
    // Before the category plugin (-200) groups the children.
    100,
  );
}
