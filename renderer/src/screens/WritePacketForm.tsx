// Writes a packet for a room: this member's feed, signed and encrypted for the other members, as a
// download or straight into a folder (a USB stick, a shared folder). Used by the room overview
// (inviting, announcing a join), the Exchange outbox and, with its own writer, to release a run's
// outputs (output.release: the snapshot decides who receives it).
import { type FormEvent, useCallback, useId, useRef, useState } from 'react';
import { type Result } from '../../../shared/errors.js';
import { type ExportResult, type RoomDetail } from '../../../shared/room.js';
import { useApi } from '../ApiContext.js';
import { Button } from '../components/Button.js';
import { TextField } from '../components/Field.js';
import { Icon } from '../components/Icon.js';
import { ErrorNotice, Notice } from '../components/Notice.js';
import { savePacket } from '../download.js';
import { folderPathProblem } from '../formChecks.js';
import { formatByteSize, listNames } from '../format.js';
import { rememberedPacketFolder, rememberPacketFolder } from '../packetFolder.js';
import { packetRecipients } from '../rooms.js';
import { toggled } from '../toggled.js';
import { useAction } from '../useAction.js';

type Destination = 'download' | 'folder';

/** Writes some other packet than packet.export's: to `outPath`, or returned for download when absent. */
export type PacketWriter = (outPath: string | undefined) => Promise<Result<ExportResult>>;

export interface WritePacketFormProps {
  readonly room: RoomDetail;
  readonly submitLabel?: string;
  /** Called after a packet was written or downloaded. */
  readonly onWritten?: (result: ExportResult) => void;
  /** Writes this packet instead of the member's feed; its recipients are not chosen here. */
  readonly writer?: PacketWriter;
  readonly errorTitle?: string;
}

export function WritePacketForm({ room, submitLabel = 'Write packet', onWritten, writer, errorTitle = 'No packet was written' }: WritePacketFormProps) {
  const api = useApi();
  const exportFeed = api['packet.export'];
  const write = useAction(
    useCallback(
      (request: { room: string; to?: string[]; outPath?: string }) => (writer !== undefined ? writer(request.outPath) : exportFeed(request)),
      [writer, exportFeed],
    ),
  );
  const [destination, setDestination] = useState<Destination>('download');
  const [folder, setFolder] = useState(rememberedPacketFolder);
  const [folderError, setFolderError] = useState<string | null>(null);
  const [chosen, setChosen] = useState<readonly string[]>([]);
  const [written, setWritten] = useState<{ result: ExportResult; downloaded: boolean } | null>(null);
  const folderRef = useRef<HTMLInputElement>(null);
  const groupName = useId();
  const recipients = packetRecipients(room);

  const reset = () => {
    setWritten(null);
    if (write.error !== null) write.clearError();
  };

  const onSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (write.busy) return;
    const outPath = folder.trim();
    if (destination === 'folder') {
      const problem = folderPathProblem(outPath);
      setFolderError(problem);
      if (problem !== null) {
        folderRef.current?.focus();
        return;
      }
    }
    setWritten(null);
    const result = await write.run({
      room: room.summary.id,
      ...(chosen.length > 0 ? { to: [...chosen] } : {}),
      ...(destination === 'folder' ? { outPath } : {}),
    });
    if (!result.ok) return;
    const exported = result.value;
    let downloaded = false;
    if (destination === 'folder') {
      rememberPacketFolder(outPath);
    } else if (exported.contentBase64 !== null) {
      savePacket(exported.fileName, exported.contentBase64);
      downloaded = true;
    }
    setWritten({ result: exported, downloaded });
    onWritten?.(exported);
  };

  const toggleRecipient = (alias: string, on: boolean) => {
    reset();
    setChosen((current) => toggled(current, alias, on));
  };

  return (
    <form className="form form-compact" onSubmit={(event) => void onSubmit(event)} noValidate data-testid="write-packet-form">
      <fieldset className="choice-group">
        <legend className="field-label">Where to put it</legend>
        <div className="choice-row">
          <label className="choice">
            <input
              type="radio"
              name={`${groupName}-destination`}
              value="download"
              checked={destination === 'download'}
              onChange={() => {
                reset();
                setDestination('download');
              }}
              data-testid="packet-destination-download"
            />
            <span className="choice-text">
              <span className="choice-title">
                <Icon name="download" size={15} /> Download
              </span>
              <span className="choice-hint">Save it with the browser, then copy it to the stick.</span>
            </span>
          </label>
          <label className="choice">
            <input
              type="radio"
              name={`${groupName}-destination`}
              value="folder"
              checked={destination === 'folder'}
              onChange={() => {
                reset();
                setDestination('folder');
              }}
              data-testid="packet-destination-folder"
            />
            <span className="choice-text">
              <span className="choice-title">
                <Icon name="folder" size={15} /> Write to a folder
              </span>
              <span className="choice-hint">Straight onto a USB stick or shared folder, written safely in one go.</span>
            </span>
          </label>
        </div>
      </fieldset>

      {destination === 'folder' && (
        <TextField
          ref={folderRef}
          label="Folder"
          name="packet-folder"
          placeholder="/media/usb"
          spellCheck={false}
          autoCapitalize="off"
          autoCorrect="off"
          value={folder}
          readOnly={write.busy}
          onChange={(event) => {
            reset();
            setFolder(event.target.value);
            setFolderError(null);
          }}
          hint="A folder on this machine. The packet is written under a temporary name and renamed when complete, so a half-copied file is never mistaken for a whole one."
          error={folderError}
          data-testid="packet-folder"
        />
      )}

      {writer === undefined && recipients.length > 1 && (
        <fieldset className="choice-group">
          <legend className="field-label">For</legend>
          <p className="field-hint">Leave all unticked to write it for every other member.</p>
          <div className="check-list check-list-inline">
            {recipients.map((member) => (
              <label className="check" key={member.signPublicKey}>
                <input
                  type="checkbox"
                  checked={chosen.includes(member.alias)}
                  onChange={(event) => toggleRecipient(member.alias, event.target.checked)}
                  data-testid={`packet-recipient-${member.alias}`}
                />
                <span>{member.alias}</span>
              </label>
            ))}
          </div>
        </fieldset>
      )}

      <ErrorNotice error={write.error} title={errorTitle} testId="packet-error" />
      {written !== null && <PacketWritten result={written.result} downloaded={written.downloaded} />}

      <div className="form-actions">
        <Button
          type="submit"
          variant="primary"
          icon={<Icon name={destination === 'folder' ? 'folder' : 'download'} />}
          busy={write.busy}
          busyLabel="Writing…"
          data-testid="packet-write"
        >
          {submitLabel}
        </Button>
      </div>
    </form>
  );
}

function PacketWritten({ result, downloaded }: { result: ExportResult; downloaded: boolean }) {
  const recipients = listNames(result.recipients);
  return (
    <Notice tone="success" title={downloaded ? 'Packet downloaded' : 'Packet written'} testId="packet-written">
      <dl className="result-facts">
        <div>
          <dt>File</dt>
          <dd>
            <code data-testid="packet-file-name">{result.fileName}</code> ·{' '}
            <span data-testid="packet-size">{formatByteSize(result.size)}</span>
          </dd>
        </div>
        {result.path !== null && (
          <div>
            <dt>Written to</dt>
            <dd>
              <code className="wrap-anywhere" data-testid="packet-path">
                {result.path}
              </code>
            </dd>
          </div>
        )}
        <div>
          <dt>For</dt>
          <dd data-testid="packet-recipients">{recipients === '' ? 'No other member' : recipients}</dd>
        </div>
      </dl>
      <p className="result-next">
        {downloaded ? 'Find it in your downloads folder and carry it' : 'Carry it'} to {recipients === '' ? 'the others' : recipients}: they
        open it under Exchange → Inbox.
      </p>
    </Notice>
  );
}
