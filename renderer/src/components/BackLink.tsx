// The link at the top of a screen back to the list it was opened from.
import { Icon } from './Icon.js';

export function BackLink({ label, onClick, testId }: { label: string; onClick: () => void; testId: string }) {
  return (
    <div>
      <button type="button" className="back-link" onClick={onClick} data-testid={testId}>
        <Icon name="back" size={15} /> {label}
      </button>
    </div>
  );
}
