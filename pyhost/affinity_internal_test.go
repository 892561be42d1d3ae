package pyhost

import (
	"reflect"
	"testing"
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
