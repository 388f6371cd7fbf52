package fileio

import "sync/atomic"

// hook is called at every checkpoint; nil (the default) costs one atomic load.
var hook atomic.Pointer[func(op, path string)]

// SetHook installs f to be called at every checkpoint (nil removes it). Tests use it to
// stop a run at a chosen point (the kill test SIGKILLs the binary at the Nth checkpoint);
// production binaries never set one.
func SetHook(f func(op, path string)) {
	if f == nil {
		hook.Store(nil)
		return
	}
	hook.Store(&f)
}

// Checkpoint marks a point where a run may die: before and after each step that changes
// what is on disk. op names the step ("read", "write", "commit", "remove", "rename", or a
// caller's own such as "publish.switch").
func Checkpoint(op, path string) {
	if f := hook.Load(); f != nil {
		(*f)(op, path)
	}
}
