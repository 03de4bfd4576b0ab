// Tabs in the WAI-ARIA pattern: one tab stop for the row, arrow keys (and Home/End) move between
// tabs and select them, and each tab names the panel it controls. The parent renders the panels
// with tabPanelProps, so tabs and panels always agree on their ids.
import { type KeyboardEvent, type ReactNode, useRef } from 'react';

export interface TabSpec<Id extends string> {
  readonly id: Id;
  readonly label: ReactNode;
  /** A count shown after the label, e.g. how many assets; nothing while unknown. */
  readonly count?: number | null;
}

export interface TabsProps<Id extends string> {
  /** Names the tab list for screen readers, e.g. "Room sections". */
  readonly label: string;
  /** Prefix of the tab and panel ids; unique on the page. */
  readonly idBase: string;
  readonly tabs: readonly TabSpec<Id>[];
  readonly selected: Id;
  readonly onSelect: (id: Id) => void;
}

export const tabId = (idBase: string, id: string) => `${idBase}-tab-${id}`;
export const panelId = (idBase: string, id: string) => `${idBase}-panel-${id}`;

/** Props for the panel of the selected tab. */
export function tabPanelProps(idBase: string, id: string) {
  return { role: 'tabpanel', id: panelId(idBase, id), 'aria-labelledby': tabId(idBase, id), tabIndex: -1 } as const;
}

export function Tabs<Id extends string>({ label, idBase, tabs, selected, onSelect }: TabsProps<Id>) {
  const refs = useRef(new Map<Id, HTMLButtonElement>());

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const index = tabs.findIndex((tab) => tab.id === selected);
    const moves: Record<string, number> = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 };
    const target = moves[event.key];
    if (target === undefined) return;
    event.preventDefault();
    const next = tabs[(target + tabs.length) % tabs.length];
    if (next === undefined) return;
    onSelect(next.id);
    refs.current.get(next.id)?.focus();
  };

  return (
    <div className="tabs" role="tablist" aria-label={label} onKeyDown={onKeyDown}>
      {tabs.map((tab) => {
        const isSelected = tab.id === selected;
        return (
          <button
            key={tab.id}
            ref={(element) => {
              if (element === null) refs.current.delete(tab.id);
              else refs.current.set(tab.id, element);
            }}
            type="button"
            role="tab"
            id={tabId(idBase, tab.id)}
            className="tab"
            aria-selected={isSelected}
            aria-controls={panelId(idBase, tab.id)}
            tabIndex={isSelected ? 0 : -1}
            onClick={() => onSelect(tab.id)}
            data-testid={`tab-${tab.id}`}
          >
            <span>{tab.label}</span>
            {tab.count !== undefined && tab.count !== null && (
              <span className="tab-count" data-testid={`tab-${tab.id}-count`}>
                {tab.count}
              </span>
            )}
          </button>
        );
      })}
    </div>
  );
}
