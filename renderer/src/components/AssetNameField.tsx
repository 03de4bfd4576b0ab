// The name a table or volume gets in the room, with the naming rule as its hint.
import { forwardRef } from 'react';
import { assetNameRule } from '../assets.js';
import { TextField } from './Field.js';

export interface AssetNameFieldProps {
  readonly value: string;
  /** Told the new name each time the person types. */
  readonly onChange: (name: string) => void;
  readonly readOnly: boolean;
  readonly error: string | null;
  /** Also the input's name; the error line gets `${testId}-error`. */
  readonly testId: string;
  /** Announce the hint politely as it changes. */
  readonly hintLive?: boolean;
}

export const AssetNameField = forwardRef<HTMLInputElement, AssetNameFieldProps>(function AssetNameField(
  { value, onChange, readOnly, error, testId, hintLive = false },
  ref,
) {
  return (
    <TextField
      ref={ref}
      label="Name in the room"
      name={testId}
      autoComplete="off"
      spellCheck={false}
      autoCapitalize="off"
      maxLength={63}
      value={value}
      readOnly={readOnly}
      onChange={(event) => onChange(event.target.value)}
      hint={assetNameRule}
      hintLive={hintLive}
      error={error}
      errorTestId={`${testId}-error`}
      data-testid={testId}
    />
  );
});
