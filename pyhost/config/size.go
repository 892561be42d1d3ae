package config

import (
	"flag"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// Sizes are read as written: SI units are powers of 1000 (k or K, M, G, T, with or without
// B: 100MB is 100,000,000 bytes) and IEC units powers of 1024 (KiB, MiB, GiB, TiB: 100MiB
// is 104,857,600 bytes), as in systemd and Kubernetes; units are case-insensitive, a bare
// number is bytes, and a decimal is allowed (1.5G, 0.5GiB; rounded down to a whole byte).
// formatSize writes a size back the same way, so what a message or the help shows reads back
// as the same number of bytes.

// byteSize is a size flag.
type byteSize struct{ n *int64 }

func (b byteSize) String() string {
	if b.n == nil {
		return "0"
	}
	return formatSize(*b.n)
}

func (b byteSize) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	*b.n = n
	return nil
}

// intSize adapts byteSize to an int field.
type intSize struct{ n *int }

func (b intSize) String() string {
	if b.n == nil {
		return "0"
	}
	return formatSize(int64(*b.n))
}

func (b intSize) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	if n > 1<<31-1 {
		return fmt.Errorf("%s is too large for this limit (at most %s)", v, formatSize(1<<31-1))
	}
	*b.n = int(n)
	return nil
}

var _ flag.Value = byteSize{}

// sizeUnits: each unit's multiplier, by its lower-case spelling.
var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
	"ki": 1 << 10, "kib": 1 << 10, "mi": 1 << 20, "mib": 1 << 20,
	"gi": 1 << 30, "gib": 1 << 30, "ti": 1 << 40, "tib": 1 << 40,
}

const maxSize = 1 << 62

func parseSize(v string) (int64, error) {
	bad := fmt.Errorf("%q: want a size, e.g. 8190 (bytes), 64KiB, 100MB, 1.5GiB (kB, MB, GB, "+
		"TB: powers of 1000; KiB, MiB, GiB, TiB: powers of 1024)", v)
	s := strings.TrimSpace(v)
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(s)
	}
	num, unit := s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	mult, ok := sizeUnits[unit]
	if !ok || num == "" || strings.Count(num, ".") > 1 || num == "." {
		return 0, bad
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return 0, bad
	}
	r.Mul(r, new(big.Rat).SetInt64(mult))
	n := new(big.Int).Quo(r.Num(), r.Denom()) // r ≥ 0: rounds down
	if !n.IsInt64() || n.Int64() > maxSize {
		return 0, fmt.Errorf("%q: too large (at most %s)", v, formatSize(maxSize))
	}
	return n.Int64(), nil
}

// formatSize writes n in the largest unit, SI or IEC, that holds it as a whole number (8190
// stays 8190, 32768 is 32KiB, 100000000 is 100MB).
func formatSize(n int64) string {
	best, bestUnit := n, ""
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"TiB", 1 << 40}, {"TB", 1e12}, {"GiB", 1 << 30}, {"GB", 1e9}, {"MiB", 1 << 20},
		{"MB", 1e6}, {"KiB", 1 << 10}, {"kB", 1e3}} {
		if n >= u.size && n%u.size == 0 && n/u.size < best {
			best, bestUnit = n/u.size, u.suffix
		}
	}
	return strconv.FormatInt(best, 10) + bestUnit
}
