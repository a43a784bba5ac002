// Placeholder until the edge lands: the edge bench needs the worker in workerd.
export async function benchEdge(): Promise<Record<string, number | string>> {
  return { status: 'edge bench not available yet' };
}
