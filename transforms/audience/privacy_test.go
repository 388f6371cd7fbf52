package audience_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/audiencesync/audiencesync/transforms/audience"
	"github.com/audiencesync/audiencesync/transforms/contacts"
	"github.com/audiencesync/audiencesync/transforms/orders"
)

var testCustomers = []orders.Customer{
	{CustomerID: "c1", Email: "  Olga.Smirnova@Example.RU ", Phone: "8 (916) 123-45-67", MarketingConsent: true},
	{CustomerID: "c2", Email: "ivan.petrov+shop@gmail.com", Phone: "+7 903 765-43-21", MarketingConsent: true},
	{CustomerID: "c3", Email: "anna@mail.ru", Phone: "9261112233", MarketingConsent: true},
	{CustomerID: "c4", Email: "john.doe@example.com", Phone: "+1 (415) 555-2671", Country: "US", MarketingConsent: true},
}

// rawForms lists every spelling of the test contacts that must never appear in a file: as
// given, trimmed and lower-cased, local parts, and phone digits with and without "+".
var rawForms = []string{
	"Olga.Smirnova", "olga.smirnova", "olgasmirnova", "Smirnova", "smirnova@example.ru",
	"ivan.petrov", "ivanpetrov", "ivan.petrov+shop@gmail.com",
	"anna@mail.ru", "john.doe", "johndoe",
	"9161234567", "79161234567", "916) 123", "123-45-67",
	"9037654321", "79037654321", "903 765",
	"9261112233", "79261112233",
	"4155552671", "14155552671", "415) 555",
}

func buildMembers(t *testing.T, h *contacts.Hasher, p contacts.Profile, cs []orders.Customer) []audience.Member {
	t.Helper()
	var out []audience.Member
	for _, c := range cs {
		hc, _ := h.Hash(c)
		if m, ok := hc.Member(p, []string{contacts.IDEmail, contacts.IDPhone}); ok {
			out = append(out, m)
		}
	}
	return out
}

// TestNoRawContactsInWrittenFiles runs real syncs (state files) and dry runs (payloads and
// diff.json) from raw customers and scans every byte written.
func TestNoRawContactsInWrittenFiles(t *testing.T) {
	h, err := contacts.NewHasher(contacts.Defaults())
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	s := &audience.FileStore{Dir: filepath.Join(root, "state")}
	out := filepath.Join(root, "out")
	var someHash string
	for _, platform := range audience.Platforms {
		p, _ := contacts.ProfileOf(platform)
		d := newFake(platform)
		day1 := buildMembers(t, h, p, testCustomers)
		if len(day1) != len(testCustomers) {
			t.Fatalf("%s: %d members from %d customers", platform, len(day1), len(testCustomers))
		}
		someHash = day1[0].Email
		if _, err := audience.Sync(context.Background(), d, s, job("2026-11-01", day1), audience.Options{}); err != nil {
			t.Fatal(err)
		}
		day2 := buildMembers(t, h, p, testCustomers[1:])
		if _, err := audience.Sync(context.Background(), d, s, job("2026-11-02", day2), audience.Options{DryRun: true, OutDir: out}); err != nil {
			t.Fatal(err)
		}
		// A dry run of a fresh audience too (creation payload with every member).
		fresh := &audience.FileStore{Dir: filepath.Join(root, "fresh-state")}
		if _, err := audience.Sync(context.Background(), d, fresh, audience.Job{Audience: "fresh", RunDate: "2026-11-02", Members: buildMembers(t, h, p, testCustomers)}, audience.Options{DryRun: true, OutDir: out}); err != nil {
			t.Fatal(err)
		}
	}
	var files int
	found := false
	err = filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		files++
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		lb := bytes.ToLower(b)
		for _, r := range rawForms {
			if bytes.Contains(lb, []byte(strings.ToLower(r))) {
				t.Errorf("%s contains raw contact text %q", path, r)
			}
		}
		if bytes.Contains(b, []byte(someHash)) {
			found = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// 4 state files + per platform 2 dry-run folders with payloads and diff.json.
	if files < 4+4*2*2 || !found {
		t.Errorf("scanned %d files, saw a known hash: %v; the scan may not see what was written", files, found)
	}
}

// A customer who withdrew consent is missing from today's members and is removed.
func TestConsentWithdrawalRemovesMember(t *testing.T) {
	h, err := contacts.NewHasher(contacts.Defaults())
	if err != nil {
		t.Fatal(err)
	}
	d, s := newFake("yandex"), &audience.FileStore{Dir: t.TempDir()}
	cs := slices.Clone(testCustomers)
	day1 := buildMembers(t, h, contacts.Yandex, cs)
	if _, err := audience.Sync(context.Background(), d, s, job("2026-11-01", day1), audience.Options{}); err != nil {
		t.Fatal(err)
	}
	hc, _ := h.Hash(cs[2])
	withdrawn, _ := hc.Member(contacts.Yandex, []string{contacts.IDEmail, contacts.IDPhone})
	cs[2].MarketingConsent = false
	day2 := buildMembers(t, h, contacts.Yandex, cs)
	if len(day2) != 3 {
		t.Fatalf("day 2 has %d members, want 3", len(day2))
	}
	l, err := audience.Sync(context.Background(), d, s, job("2026-11-02", day2), audience.Options{})
	if err != nil || l.Removed != 1 || l.Added != 0 {
		t.Fatalf("log %+v err %v", l, err)
	}
	last := d.calls[len(d.calls)-1]
	if len(last.Remove) != 1 || last.Remove[0] != withdrawn || len(last.Add) != 0 {
		t.Errorf("request removed %v, want only the withdrawn member", keys(last.Remove))
	}
	if slices.Contains(d.remoteKeys(aud), withdrawn.Key) || len(d.remoteKeys(aud)) != 3 {
		t.Errorf("remote still holds the withdrawn member")
	}
}
