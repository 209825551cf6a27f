// Command leaky writes two heap profiles around a known leak, for the
// validation of `leakcheck diff` against profiles written by Go's runtime.
//
//	leaky BASE AFTER
//
// Between the two profiles it keeps 1000 buffers of 4 KiB reachable from a
// global (memory that is never released: the kind of leak a heap diff finds),
// and allocates and drops as much again, which must not show as growth.
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
)

var retained [][]byte

var sink []byte

//go:noinline
func leakBuffers(n, size int) {
	for i := 0; i < n; i++ {
		retained = append(retained, make([]byte, size))
	}
}

//go:noinline
func churnBuffers(n, size int) {
	for i := 0; i < n; i++ {
		sink = make([]byte, size)
	}
	sink = nil
}

func writeHeapProfile(path string) error {
	// The heap profile reports the state as of the last completed
	// collection; two make sure the frees of the churn are counted.
	runtime.GC()
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: leaky BASE AFTER")
		os.Exit(2)
	}
	if err := writeHeapProfile(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "leaky:", err)
		os.Exit(1)
	}
	retained = make([][]byte, 0, 1000)
	leakBuffers(1000, 4096)
	churnBuffers(1000, 4096)
	if err := writeHeapProfile(os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "leaky:", err)
		os.Exit(1)
	}
	runtime.KeepAlive(retained)
}

func init() {
	// Record every allocation, and collect only when a profile is written:
	// a collection running inside leakBuffers would allocate for itself, and
	// the profile would charge its runtime allocations to leakBuffers, the
	// first frame outside the runtime. Then the figures are exact.
	runtime.MemProfileRate = 1
	debug.SetGCPercent(-1)
}
