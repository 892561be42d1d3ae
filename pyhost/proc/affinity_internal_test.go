package proc

import (
	"reflect"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCPUsForSlot(t *testing.T) {
	for _, c := range []struct {
		allowed []int
		n, slot int
		want    []int
	}{
		{[]int{0, 1}, 1, 0, []int{0}},
		{[]int{0, 1}, 1, 1, []int{1}},
		{[]int{0, 1}, 1, 2, []int{0}},          // more workers than CPUs: round robin
		{[]int{2, 3, 6, 7}, 2, 1, []int{6, 7}}, // only the CPUs pyhost was given
		{[]int{0, 1, 2}, 2, 1, []int{2, 0}},    // runs wrap
		{[]int{0, 1}, 4, 0, []int{0, 1}},       // N above the CPUs there are: all of them
	} {
		if got := cpusForSlot(c.allowed, c.n, c.slot); !reflect.DeepEqual(got, c.want) {
			t.Errorf("cpusForSlot(%v, %d, %d) = %v, want %v", c.allowed, c.n, c.slot, got, c.want)
		}
	}
}

// TestBindToAllCPUs binds this test process to every CPU it may use (which changes nothing
// for the tests around it) and checks what each of its threads may then run on.
func TestBindToAllCPUs(t *testing.T) {
	var before unix.CPUSet
	if err := unix.SchedGetaffinity(0, &before); err != nil {
		t.Fatal(err)
	}
	cpus, err := bindToCPUs(before.Count(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(cpus) != before.Count() {
		t.Fatalf("bound to %v, want the %d CPUs this process may use", cpus, before.Count())
	}
	tids, err := threadIDs()
	if err != nil {
		t.Fatal(err)
	}
	for _, tid := range tids {
		var got unix.CPUSet
		if err := unix.SchedGetaffinity(tid, &got); err != nil {
			continue // the thread ended
		}
		if got != before {
			t.Errorf("thread %d may run on %v CPUs, want %v", tid, got.Count(), before.Count())
		}
	}
}

func TestBindCPUsZeroDoesNothing(t *testing.T) {
	if err := BindCPUs(0, 3, nil); err != nil { // a nil logger: it must not be used
		t.Fatal(err)
	}
}
