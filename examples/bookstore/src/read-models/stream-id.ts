/** The aggregate id of a stream id (`author/<id>` → `<id>`). */
export function aggregateIdOf(streamId: string): string {
  return streamId.slice(streamId.indexOf('/') + 1);
}
