package httpxtest

import (
	"maps"
	"sync"
)

// Copy returns a copy of *xs read under mu: a fake's getter of what it recorded.
func Copy[T any](mu sync.Locker, xs *[]T) []T {
	mu.Lock()
	defer mu.Unlock()
	return append([]T(nil), (*xs)...)
}

// CopyMap is Copy for a map (nil stays nil).
func CopyMap[K comparable, V any](mu sync.Locker, m *map[K]V) map[K]V {
	mu.Lock()
	defer mu.Unlock()
	return maps.Clone(*m)
}
