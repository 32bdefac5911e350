//go:build race

package exchange_test

// raceEnabled: the race detector slows byte-by-byte work tenfold, so the
// large-item test moves less data under -race.
const raceEnabled = true
