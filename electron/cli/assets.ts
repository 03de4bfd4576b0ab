// The CLI's table, volume, notebook and approval commands. Each reads the files it was given,
// calls core, and prints; long imports are core jobs, followed here with job.status.
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type JobView } from '../../shared/asset.js';
import { CleanroomError, isErrorCode } from '../../shared/errors.js';
import { type Core } from '../core/index.js';
import { describeFileError } from '../core/files.js';
import { type Command, type GlobalSettings } from './args.js';
import { assetLines, assetListLines, checkLines, inspectionLines, progressLine, snapshotLines, snapshotListLines } from './format-assets.js';
import { shortId } from './format.js';
import { type CliContext, exitCodes, invoke, report, withCore, withCoreUnlockedIfPossible, withUnlockedCore } from './session.js';

export type AssetCommand = Extract<
  Command,
  {
    name:
      | 'table inspect'
      | 'table add'
      | 'volume add'
      | 'asset list'
      | 'notebook check'
      | 'notebook add'
      | 'notebook list'
      | 'notebook show'
      | 'approve'
      | 'revoke';
  }
>;

/** The contract's limit on a notebook's text. */
const maxNotebookBytes = 1_000_000;
const pollMs = 100;
/** A progress line at most this often, so a log of a long import stays readable. */
const progressEveryMs = 1000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const packetHint = (room: string): string => `Tell the other members: \`cleanroom packet export ${room} --out F\`.`;

export async function assetCommands(context: CliContext, settings: GlobalSettings, command: AssetCommand): Promise<number> {
  switch (command.name) {
    case 'table inspect': {
      const inspection = await withCore(context, settings, (core) =>
        invoke(core, 'table.inspect', {
          path: path.resolve(command.file),
          ...(command.followSymlinks ? { followSymlinks: true } : {}),
          ...(command.format === undefined ? {} : { format: command.format }),
        }),
      );
      report(context, settings, inspection, inspectionLines(command.file, inspection));
      return exitCodes.ok;
    }
    case 'table add':
    case 'volume add': {
      const asset = await withUnlockedCore(context, settings, command.name, async (core) => {
        const { job } =
          command.name === 'table add'
            ? await invoke(core, 'table.add', {
                room: command.room,
                name: command.assetName,
                path: path.resolve(command.file),
                roles: command.roles.map((role) => ({ ...role })),
                shareRowCount: command.shareRowCount,
                allowMinMax: command.allowMinMax,
                ...(command.followSymlinks ? { followSymlinks: true } : {}),
                ...(command.format === undefined ? {} : { format: command.format }),
              })
            : await invoke(core, 'volume.add', {
                room: command.room,
                name: command.assetName,
                path: path.resolve(command.file),
                private: command.private,
                ...(command.followSymlinks ? { followSymlinks: true } : {}),
              });
        return followJob(context, settings, core, job);
      });
      // A table with no privacy unit is a public lookup in an aggregate room: say so plainly.
      const lookup =
        asset.kind === 'table' && !(asset.columns ?? []).some((column) => column.role === 'privacy_unit')
          ? ['No column is the privacy unit: in an aggregate room this table is a public lookup (it joins on dimensions only; its join keys cannot be used).']
          : [];
      report(context, settings, asset, [`Added ${asset.kind} ${asset.name} to the room.`, ...lookup, ...assetLines(asset), packetHint(command.room)]);
      return exitCodes.ok;
    }
    case 'asset list': {
      const { assets } = await withCore(context, settings, (core) => invoke(core, 'asset.list', { room: command.room }));
      report(context, settings, { assets }, assetListLines(assets));
      return exitCodes.ok;
    }
    case 'notebook check': {
      const source = readNotebookFile(command.file);
      const check = await withCoreUnlockedIfPossible(context, settings, (core) => invoke(core, 'notebook.check', { room: command.room, source }));
      report(context, settings, check, checkLines(check));
      return check.ok ? exitCodes.ok : exitCodes.refused;
    }
    case 'notebook add': {
      const source = readNotebookFile(command.file);
      const view = await withUnlockedCore(context, settings, command.name, (core) =>
        invoke(core, 'notebook.add', {
          room: command.room,
          name: command.notebookName,
          source,
          ...(command.runner === undefined ? {} : { runner: command.runner }),
          ...(command.recipients === undefined ? {} : { recipients: [...command.recipients] }),
        }),
      );
      report(context, settings, view, [`Added snapshot ${view.id} of "${view.name}"; adding it counts as your approval.`, '', ...snapshotLines(view), '', packetHint(command.room)]);
      return exitCodes.ok;
    }
    case 'notebook list': {
      const { snapshots } = await withCore(context, settings, (core) => invoke(core, 'notebook.list', { room: command.room }));
      report(context, settings, { snapshots }, snapshotListLines(snapshots));
      return exitCodes.ok;
    }
    case 'notebook show': {
      const view = await withCore(context, settings, (core) => invoke(core, 'notebook.show', { room: command.room, snapshot: command.snapshot }));
      report(context, settings, view, snapshotLines(view));
      return exitCodes.ok;
    }
    case 'approve': {
      const view = await withUnlockedCore(context, settings, command.name, (core) =>
        invoke(core, 'approval.grant', {
          room: command.room,
          snapshot: command.snapshot,
          ...(command.expiresDays === undefined ? {} : { expiresDays: command.expiresDays }),
          ...(command.runs === undefined ? {} : { runs: command.runs }),
        }),
      );
      report(context, settings, view, [`Approved snapshot ${shortId(view.id)} of "${view.name}" for ${view.runner}.`, ...approvalSummary(view), packetHint(command.room)]);
      return exitCodes.ok;
    }
    case 'revoke': {
      const view = await withUnlockedCore(context, settings, command.name, (core) =>
        invoke(core, 'approval.revoke', { room: command.room, snapshot: command.snapshot }),
      );
      report(context, settings, view, [`Revoked your approval of snapshot ${shortId(view.id)} of "${view.name}".`, ...approvalSummary(view), packetHint(command.room)]);
      return exitCodes.ok;
    }
  }
}

function approvalSummary(view: Parameters<typeof snapshotLines>[0]): string[] {
  // The matrix is the part of the snapshot that just changed.
  const lines = snapshotLines(view);
  const start = lines.indexOf('Approvals:');
  const end = lines.indexOf('Cells:');
  return start === -1 ? [] : lines.slice(start, end === -1 ? undefined : end);
}

/** Polls a job until it ends, with a progress line on stderr now and then; its asset, or its error. */
async function followJob(context: CliContext, settings: GlobalSettings, core: Core, job: string) {
  let lastLine = '';
  let lastAt = 0;
  for (;;) {
    const view: JobView = await invoke(core, 'job.status', { job });
    if (view.state === 'done' && view.asset !== null) return view.asset;
    if (view.state === 'failed') {
      const code = isErrorCode(view.error?.code) ? view.error.code : 'INTERNAL';
      throw new CleanroomError(code, view.error?.message ?? 'The import failed; nothing was added.');
    }
    const line = progressLine(view);
    const now = Date.now();
    if (!settings.json && line !== lastLine && now - lastAt >= progressEveryMs) {
      context.stderr(line);
      lastLine = line;
      lastAt = now;
    }
    await sleep(pollMs);
  }
}

function readNotebookFile(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw new CleanroomError('FILE_ERROR', `Cannot read the notebook ${file} (${describeFileError(error)}).`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new CleanroomError('FILE_ERROR', `Cannot read the notebook ${file}: it is not a file.`);
    if (stat.size > maxNotebookBytes) throw new CleanroomError('BAD_REQUEST', `${file} is larger than a notebook may be (1 MB).`);
    const text = readFileSync(fd, 'utf8');
    if (text.trim() === '') throw new CleanroomError('BAD_REQUEST', `${file} is empty.`);
    return text;
  } catch (error) {
    if (error instanceof CleanroomError) throw error;
    throw new CleanroomError('FILE_ERROR', `Cannot read the notebook ${file} (${describeFileError(error)}).`);
  } finally {
    closeSync(fd);
  }
}
