package audience_test

import (
	"bytes"
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

// buildIdentifiers runs the compute-side builder over customers who are all in segment
// "rfm:champions".
func buildIdentifiers(t *testing.T, h *contacts.Hasher, platform string, cs []orders.Customer) []audience.Identifier {
	t.Helper()
	m, err := audience.NewMembers([]audience.Target{{Audience: aud, Platform: platform,
		Identifiers: []string{audience.TypeEmail, audience.TypePhone}, Source: audience.Source{Segments: []string{"rfm:champions"}}}})
	if err != nil {
		t.Fatal(err)
	}
	var out []audience.Identifier
	for _, c := range cs {
		hc, _ := h.Hash(c)
		m.Add(&hc, []string{"rfm:champions"}, func(_ int, id audience.Identifier) { out = append(out, id) })
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
	for _, platform := range []string{"yandex", "vk", "meta", "google"} {
		d := newFake(platform)
		day1 := buildIdentifiers(t, h, platform, testCustomers)
		if len(day1) != 2*len(testCustomers) {
			t.Fatalf("%s: %d identifiers from %d customers, want 2 each", platform, len(day1), len(testCustomers))
		}
		someHash = day1[0].Hash
		mustSync(t, d, s, job("2026-11-01", day1), audience.Options{})
		day2 := buildIdentifiers(t, h, platform, testCustomers[1:])
		mustSync(t, d, s, job("2026-11-02", day2), audience.Options{DryRun: true, OutDir: out})
		// A dry run of a fresh audience too (creation payload with every identifier).
		fresh := &audience.FileStore{Dir: filepath.Join(root, "fresh-state")}
		mustSync(t, d, fresh, job("2026-11-02", day1), audience.Options{DryRun: true, OutDir: filepath.Join(root, "out-fresh")})
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

// A customer who withdrew consent has no identifiers today and is removed; nothing else is.
func TestConsentWithdrawalRemovesIdentifiers(t *testing.T) {
	h, err := contacts.NewHasher(contacts.Defaults())
	if err != nil {
		t.Fatal(err)
	}
	d, s := newFake("yandex"), &audience.FileStore{Dir: t.TempDir()}
	cs := slices.Clone(testCustomers)
	mustSync(t, d, s, job("2026-11-01", buildIdentifiers(t, h, "yandex", cs)), audience.Options{})
	withdrawn := buildIdentifiers(t, h, "yandex", cs[2:3])
	cs[2].MarketingConsent = false
	day2 := buildIdentifiers(t, h, "yandex", cs)
	if len(day2) != 6 {
		t.Fatalf("day 2 has %d identifiers, want 6", len(day2))
	}
	if l := mustSync(t, d, s, job("2026-11-02", day2), audience.Options{}); l.Removed != 2 || l.Added != 0 {
		t.Fatalf("log %+v", l)
	}
	last := d.calls[len(d.calls)-1]
	if !slices.Equal(last.Remove, set(withdrawn...)) || len(last.Add) != 0 {
		t.Errorf("request removed %v, want only the withdrawn customer's two identifiers", last.Remove)
	}
	if got := d.remote(aud); !slices.Equal(got, set(day2...)) {
		t.Errorf("remote %v", got)
	}
}

// TestMembersBuilder checks the compute-side builder against the docs' vectors:
// name@yandex.ru → 41b86f44…; 7 (999) 555-11-11 → 79995551111 → SHA-256 22846ab8… (and
// MD5 f09f2c3d…, 0e90d6d5… for VK's default, computed with md5sum).
func TestMembersBuilder(t *testing.T) {
	h, err := contacts.NewHasher(contacts.Defaults())
	if err != nil {
		t.Fatal(err)
	}
	const (
		shaEmail = "41b86f44151924a940be6fa30d93f2471683ca74ac361d3b827a9b72c80a7623"
		shaPhone = "22846ab8f79870871eb44f653419a4a5069301827d8ae75b6c2a88e4989a364e"
		md5Email = "0e90d6d575f846f977e56490668b2c13"
		md5Phone = "f09f2c3d48f31e2a802944ade2e5aec5"
	)
	src := audience.Source{Segments: []string{"rfm:champions"}, Exclude: []string{"rfm:lost"}}
	both := []string{audience.TypeEmail, audience.TypePhone}
	m, err := audience.NewMembers([]audience.Target{
		{Audience: "a", Platform: "yandex", Identifiers: both, Source: src},
		{Audience: "a", Platform: "vk", Identifiers: []string{audience.TypePhone}, Source: src},
		{Audience: "b", Platform: "meta", Identifiers: []string{audience.TypeEmail}, Source: audience.Source{Segments: []string{"rule:x"}}},
		{Audience: "c", Platform: "vk", Identifiers: []string{audience.TypeEmail}, Source: src},
	})
	if err != nil {
		t.Fatal(err)
	}
	hc, _ := h.Hash(orders.Customer{CustomerID: "c1", Email: " Name@Yandex.RU", Phone: "7 (999) 555-11-11", MarketingConsent: true})
	type got struct {
		i  int
		id audience.Identifier
	}
	var out []got
	emit := func(i int, id audience.Identifier) { out = append(out, got{i, id}) }
	m.Add(&hc, []string{"rfm:champions"}, emit)
	want := []got{{0, audience.Identifier{Type: "email", Hash: shaEmail}}, {0, audience.Identifier{Type: "phone", Hash: shaPhone}}, {1, audience.Identifier{Type: "phone", Hash: md5Phone}}, {3, audience.Identifier{Type: "email", Hash: md5Email}}}
	if !slices.Equal(out, want) {
		t.Errorf("identifiers %v, want %v", out, want)
	}
	out = nil
	m.Add(&hc, []string{"rfm:champions", "rfm:lost"}, emit) // excluded
	hc.Consent = false
	m.Add(&hc, []string{"rfm:champions"}, emit) // no consent
	if len(out) != 0 {
		t.Errorf("excluded or non-consenting customer emitted %v", out)
	}
	if _, err := audience.NewMembers([]audience.Target{{Audience: "a", Platform: "tiktok"}}); err == nil {
		t.Error("a platform without a hashing profile was accepted")
	}
}
