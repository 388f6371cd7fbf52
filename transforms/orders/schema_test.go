package orders

import (
	"strings"
	"testing"
)

func TestBind(t *testing.T) {
	// BOM on the first name, case and spaces, extra columns, channel absent.
	idx, err := OrdersSchema.Bind("orders.csv", []string{"\ufeffOrder_ID", "loyalty", " Customer_Id ", "ORDERED_AT", "status", "extra", "Amount", "currency "})
	if err != nil {
		t.Fatal(err)
	}
	want := Index{0, 2, 3, 4, 6, 7, -1}
	if len(idx) != len(want) {
		t.Fatalf("idx = %v, want %v", idx, want)
	}
	for i := range want {
		if idx[i] != want[i] {
			t.Fatalf("idx = %v, want %v", idx, want)
		}
	}
	rec := []string{"O1", "gold", "C1", "2024-01-01", "completed", "x", "10", "RUB"}
	if got := idx.Get(rec, 6); got != "" {
		t.Errorf("absent channel = %q, want empty", got)
	}
	bound := make([]string, len(idx))
	for i := range idx {
		bound[i] = idx.Get(rec, i)
	}
	o, rej := ParseOrder(bound, NewZone(nil))
	if rej != nil || o.OrderID != "O1" || o.CustomerID != "C1" || o.Amount != 100000 || o.Channel != "" {
		t.Errorf("ParseOrder = %+v, %+v", o, rej)
	}
	// A short record reads as empty fields, not a panic.
	if got := idx.Get([]string{"O1"}, 5); got != "" {
		t.Errorf("Get on a short record = %q", got)
	}
}

// A schema column named twice is ambiguous: fail naming the file and the column. An
// unused column named twice is harmless.
func TestBindDuplicateColumn(t *testing.T) {
	_, err := OrdersSchema.Bind("in/orders.csv", []string{"order_id", "customer_id", "ordered_at", "status", "Amount", "currency", " amount "})
	if err == nil || !strings.Contains(err.Error(), "in/orders.csv") || !strings.Contains(err.Error(), "amount twice") {
		t.Errorf("duplicate amount: %v", err)
	}
	if _, err := OrdersSchema.Bind("o.csv", []string{"note", "order_id", "customer_id", "ordered_at", "status", "amount", "currency", "NOTE"}); err != nil {
		t.Errorf("unused column twice: %v", err)
	}
}

// A customers file without its header row would show its first row as the header: the
// error must not quote contact data.
func TestBindMissingHeaderKeepsContactsOut(t *testing.T) {
	_, err := CustomersSchema.Bind("customers.csv", []string{"C1", "ivan@example.com", "+7 916 123-45-67", "RU", "true", ""})
	if err == nil || strings.Contains(err.Error(), "ivan@") || strings.Contains(err.Error(), "916") {
		t.Errorf("error %v", err)
	}
}

func TestBindMissingColumn(t *testing.T) {
	_, err := OrdersSchema.Bind("data/orders.csv", []string{"order_id", "customer_id", "ordered_at", "amount", "channel"})
	if err == nil {
		t.Fatal("missing status and currency accepted")
	}
	for _, s := range []string{"data/orders.csv", "status", "currency", "orders"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not name %q", err, s)
		}
	}
	_, err = CustomersSchema.Bind("customers.csv", []string{"customer_id", "email", "country", "marketing_consent", "created_at"})
	if err == nil || !strings.Contains(err.Error(), "customers.csv") || !strings.Contains(err.Error(), "phone") {
		t.Errorf("customers without phone: %v", err)
	}
	// Lines and spend have no optional columns: every column is required.
	if _, err := SpendSchema.Bind("spend.csv", []string{"period", "channel", "amount"}); err == nil || !strings.Contains(err.Error(), "currency") {
		t.Errorf("spend without currency: %v", err)
	}
}

func TestSchemaFor(t *testing.T) {
	for _, in := range []string{InputOrders, InputLines, InputCustomers, InputSpend} {
		if s, ok := SchemaFor(in); !ok || s.Input != in {
			t.Errorf("SchemaFor(%q) = %v, %v", in, s, ok)
		}
	}
	if _, ok := SchemaFor("refunds"); ok {
		t.Error("SchemaFor(refunds) found a schema")
	}
}
