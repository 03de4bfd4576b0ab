// "Next step: send your updates": after something the others can only learn from a packet (an
// invitation, a join, a new table, a snapshot, an approval), the packet form with one line on why.
// It takes focus when it appears, so the reader lands on what to do next.
import { type ReactNode, useEffect, useId, useRef } from 'react';
import { type RoomDetail } from '../../../shared/room.js';
import { Icon } from '../components/Icon.js';
import { WritePacketForm } from './WritePacketForm.js';

export interface PacketPromptProps {
  readonly room: RoomDetail;
  readonly title: string;
  readonly children: ReactNode;
  readonly submitLabel?: string;
  readonly testId: string;
  /** Changes when the prompt is for a new event, to take focus again. */
  readonly focusKey?: string;
  readonly dataStep?: string;
}

export function PacketPrompt({ room, title, children, submitLabel, testId, focusKey, dataStep }: PacketPromptProps) {
  const titleId = useId();
  const headingRef = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    headingRef.current?.focus();
  }, [focusKey]);
  return (
    <section className="card card-highlight" aria-labelledby={titleId} data-testid={testId} data-step={dataStep}>
      <div className="card-header">
        <h2 className="card-title card-title-large" id={titleId} tabIndex={-1} ref={headingRef}>
          <Icon name="exchange" size={18} /> {title}
        </h2>
      </div>
      <p>{children}</p>
      <WritePacketForm room={room} {...(submitLabel !== undefined ? { submitLabel } : {})} />
    </section>
  );
}
