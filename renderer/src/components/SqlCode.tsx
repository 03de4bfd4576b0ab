// SQL as coloured text, drawn from tokenizeSql: read-only cells, and the layer under the notebook
// editor. Every token is a text node: nothing in the source is ever read as HTML.
import { useMemo } from 'react';
import { tokenizeSql } from '../sqlHighlight.js';

export function SqlTokens({ source }: { source: string }) {
  const tokens = useMemo(() => tokenizeSql(source), [source]);
  return (
    <>
      {tokens.map((token, index) =>
        token.kind === 'text' ? (
          token.text
        ) : (
          <span key={index} className={`sql-${token.kind}`}>
            {token.text}
          </span>
        ),
      )}
    </>
  );
}

export function SqlCode({ source, label, testId }: { source: string; label: string; testId?: string }) {
  return (
    // Focusable, so a keyboard can scroll a wide cell; the label says what it is.
    <pre className="code-block" tabIndex={0} aria-label={label} data-testid={testId}>
      <code>
        <SqlTokens source={source} />
      </code>
    </pre>
  );
}
