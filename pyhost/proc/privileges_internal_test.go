package proc

import (
	"os"
	"testing"
)

func TestResolveIdentity(t *testing.T) {
	if _, ok, err := resolveIdentity("", ""); ok || err != nil {
		t.Errorf("no --user, no --group: ok %v, err %v; want nothing to do", ok, err)
	}
	id, ok, err := resolveIdentity("0", "0") // root and its group exist everywhere, by number
	if err != nil || !ok {
		t.Fatalf("--user 0 --group 0: ok %v, err %v", ok, err)
	}
	if id.uid != 0 || id.gid != 0 || len(id.groups) == 0 {
		t.Errorf("--user 0 --group 0: %+v, want uid 0, gid 0 and some groups", id)
	}
	if _, _, err := resolveIdentity("no-such-user-pyhost", ""); err == nil {
		t.Error("--user no-such-user-pyhost: no error")
	}
	if _, _, err := resolveIdentity("", "no-such-group-pyhost"); err == nil {
		t.Error("--group no-such-group-pyhost: no error")
	}
}

func TestCheckRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		if err := CheckRoot("", "", false); err != nil {
			t.Errorf("not root, no --user: %v", err)
		}
		if err := CheckRoot("0", "", true); err == nil {
			t.Error("not root, --user 0: no error")
		}
		return
	}
	if err := CheckRoot("", "", false); err != errRoot {
		t.Errorf("root, no --user, no --allow-root: %v, want the refusal", err)
	}
	if err := CheckRoot("", "", true); err != nil {
		t.Errorf("root with --allow-root: %v", err)
	}
	if err := CheckRoot("0", "", false); err != errRoot {
		t.Errorf("root, --user 0, no --allow-root: %v, want the refusal", err)
	}
}
