package proc

import "os"

// GiveToUser makes --user (and --group, else the user's own group) the owner of path, a file
// that root created for a process that drops to that user later (a log file both write to).
// It does nothing when neither is set.
func GiveToUser(path, userName, group string) error {
	id, ok, err := resolveIdentity(userName, group)
	if err != nil || !ok {
		return err
	}
	return os.Chown(path, id.uid, id.gid)
}
