//go:build !unix

package run

import "fmt"

func lockLocal(path string, me Holder) (heldLock, *Holder, error) {
	return nil, nil, fmt.Errorf("run lock %s: local run locks need a Unix system", path)
}
