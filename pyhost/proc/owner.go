package proc

import "os"

// GiveToUser makes path, a file this process created, FileOwner's: the app's user's when
// this process is root. It does nothing when neither --user nor --group is set.
func GiveToUser(path, userName, group string) error {
	uid, gid, err := FileOwner(userName, group)
	if err != nil || uid == -1 && gid == -1 {
		return err
	}
	return os.Chown(path, uid, gid)
}
