// Placeholder replaced by the testing package's launcher wiring.
export default function setup(): void {}
