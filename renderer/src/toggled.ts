// Ticking and unticking in a list of checkboxes (members to invite or add, packet recipients).

/** `list` with `item` added at the end when `on`, or without it when not. */
export function toggled<T>(list: readonly T[], item: T, on: boolean): T[] {
  return on ? [...list, item] : list.filter((other) => other !== item);
}
