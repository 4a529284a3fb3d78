export { Station, defineStation, stationMachine, stationEvents, stationCommands, VISIT_TIMED_OUT } from './station.js';
export type { StationAggregate, StationContext, StationEvent, StationOptions } from './station.js';
export { stationOf, STATION_IDS, STATION_COUNT } from './station-of.js';
