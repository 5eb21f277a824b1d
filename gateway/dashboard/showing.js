// What the open page shows, so that an event can tell whether it concerns it: the router sets it,
// each page adds the reloads of its lists, and the event stream runs them.

export const showing = { project: null, phase: null, refreshers: [] };

/** Each page calls this as it draws, before its first read. */
export function show(project, phase) {
  showing.project = project;
  showing.phase = phase;
  showing.refreshers = [];
}
