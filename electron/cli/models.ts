// The CLI's model commands: `model show`, `model save` and `predict`. A model is a room output made
// by a train cell (read with output.show, which needs the passphrase) or a model file saved from
// one; `predict` scores a local file with either through model.predict.
import path from 'node:path';
import { CleanroomError } from '../../shared/errors.js';
import { isWithheldModel, modelFileName, modelFileText, type ModelOutputDocument, parseModelOutput } from '../../shared/model.js';
import { type OutputView } from '../../shared/run.js';
import { type Core } from '../core/index.js';
import { outputTarget } from '../core/files.js';
import { type Command, type GlobalSettings } from './args.js';
import { modelHintLines, modelLines, modelSavedLines, predictionLines, unscoredLine } from './format-models.js';
import { type CliContext, exitCodes, invoke, report, withCore, withUnlockedCore } from './session.js';

export type ModelCommand = Extract<Command, { name: 'model show' | 'model save' | 'predict' }>;

export async function modelCommands(context: CliContext, settings: GlobalSettings, command: ModelCommand): Promise<number> {
  switch (command.name) {
    case 'model show': {
      const { model, output } = await withUnlockedCore(context, settings, command.name, (core) => readModel(core, command.room, command.model));
      // --json gives the model document itself, the same as `model save` writes.
      report(context, settings, model, [...modelLines(model, output), ...(isWithheldModel(model) ? [] : ['', ...modelHintLines(command.room, command.model)])]);
      return exitCodes.ok;
    }
    case 'model save': {
      const { model, target } = await withUnlockedCore(context, settings, command.name, async (core) => {
        const read = await readModel(core, command.room, command.model);
        const found = read.model;
        if (isWithheldModel(found)) throw new CleanroomError('BAD_REQUEST', `The model ${found.name} was withheld (${found.withheld.reason}): there is nothing to save.`);
        // Written while the home is open, so its temporary name is recorded there (pending-files.ts).
        const file = outputTarget(command.out, modelFileName(found.name));
        core.writeUserFile(file, Buffer.from(modelFileText(found), 'utf8'));
        return { model: found, target: file };
      });
      report(context, settings, { name: model.name, path: target }, modelSavedLines(model, target));
      return exitCodes.ok;
    }
    case 'predict': {
      const source = path.resolve(command.file);
      const request = {
        source,
        ...(command.format === undefined ? {} : { format: command.format }),
        ...(command.out === undefined ? {} : { outPath: path.resolve(command.out) }),
      };
      // A model file needs no identity; a room's model is decrypted with the passphrase.
      const prediction =
        command.room === undefined
          ? await withCore(context, settings, (core) => invoke(core, 'model.predict', { model: path.resolve(command.model), ...request }))
          : await withUnlockedCore(context, settings, command.name, (core) => invoke(core, 'model.predict', { room: command.room as string, model: command.model, ...request }));
      if (settings.json) report(context, settings, prediction, []);
      else if (prediction.csv !== null) {
        context.stdoutText(prediction.csv);
        // stdout is the CSV alone; a note about rows without a prediction goes beside it.
        const missing = unscoredLine(prediction);
        if (missing !== null) context.stderr(missing);
      } else report(context, settings, prediction, predictionLines(prediction, path.basename(source)));
      return exitCodes.ok;
    }
  }
}

/** A model output of a room, as its document (a fitted model, or aggregate mode's withheld one); a table output is refused by name. */
async function readModel(core: Core, room: string, ref: string): Promise<{ model: ModelOutputDocument; output: OutputView }> {
  const data = await invoke(core, 'output.show', { room, output: ref, limit: 1 });
  if (data.output.kind !== 'model') {
    throw new CleanroomError('BAD_REQUEST', `${data.output.name} is a table, not a model; read it with \`cleanroom output show\`.`);
  }
  const text = data.rows[0]?.[0];
  const parsed = typeof text === 'string' ? parseModelOutput(text) : null;
  if (parsed === null || !parsed.ok) throw new CleanroomError('HOME_DAMAGED', `The stored model ${data.output.name} is not a readable model document; the home is damaged.`);
  return { model: parsed.model ?? parsed.withheld, output: data.output };
}
