//! A ledger: twenty record kinds with validation, grouping and reports (the benchmark's big member).
pub mod account;
pub mod journal;
pub mod posting;
pub mod currency;
pub mod budget;
pub mod invoice;
pub mod payment;
pub mod tax;
pub mod report;
pub mod period;
pub mod ledger_book;
pub mod audit;
pub mod forecast;
pub mod vendor;
pub mod customer;
pub mod asset;
pub mod liability;
pub mod equity;
pub mod expense;
pub mod revenue;

/// One line per record kind: how many of a sample fail validation, and the top tag.
pub fn overview(count: u64) -> Vec<String> {
    vec![
        format!(
            "account: {} failures, top tag {:?}",
            account::failures(&account::sample(count), 90).len(),
            account::tag_counts(&account::sample(count)).first().map(|t| t.0.clone())
        ),
        format!(
            "journal: {} failures, top tag {:?}",
            journal::failures(&journal::sample(count), 90).len(),
            journal::tag_counts(&journal::sample(count)).first().map(|t| t.0.clone())
        ),
        format!(
            "posting: {} failures, top tag {:?}",
            posting::failures(&posting::sample(count), 90).len(),
            posting::tag_counts(&posting::sample(count)).first().map(|t| t.0.clone())
        ),
        format!(
            "currency: {} failures, top tag {:?}",
            currency::failures(&currency::sample(count), 90).len(),
            currency::tag_counts(&currency::sample(count)).first().map(|t| t.0.clone())
        ),
        format!(
            "budget: {} failures, top tag {:?}",
            budget::failures(&budget::sample(count), 90).len(),
            budget::tag_counts(&budget::sample(count)).first().map(|t| t.0.clone())
        ),
        format!(
            "invoice: {} failures, top tag {:?}",
            invoice::failures(&invoice::sample(count), 90).len(),
            invoice::tag_counts(&invoice::sample(count)).first().map(|t| t.0.clone())
        ),
        format!(
            "payment: {} failures, top tag {:?}",
            payment::failures(&payment::sample(count), 90).len(),
            payment::tag_counts(&payment::sample(count)).first().map(|t| t.0.clone())
        ),
        format!(
            "tax: {} failures, top tag {:?}",
            tax::failures(&tax::sample(count), 90).len(),
            tax::tag_counts(&tax::sample(count)).first().map(|t| t.0.clone())
        ),
        format!(
            "report: {} failures, top tag {:?}",
            report::failures(&report::sample(count), 90).len(),
            report::tag_counts(&report::sample(count)).first().map(|t| t.0.clone())
        ),
        format!(
            "period: {} failures, top tag {:?}",
            period::failures(&period::sample(count), 90).len(),
            period::tag_counts(&period::sample(count)).first().map(|t| t.0.clone())
        ),
        format!(
            "ledger_book: {} failures, top tag {:?}",
            ledger_book::failures(&ledger_book::sample(count), 90).len(),
            ledger_book::tag_counts(&ledger_book::sample(count)).first().map(|t| t.0.clone())
        ),
        format!(
            "audit: {} failures, top tag {:?}",
            audit::failures(&audit::sample(count), 90).len(),
            audit::tag_counts(&audit::sample(count)).first().map(|t| t.0.clone())
        ),
        format!(
            "forecast: {} failures, top tag {:?}",
            forecast::failures(&forecast::sample(count), 90).len(),
            forecast::tag_counts(&forecast::sample(count)).first().map(|t| t.0.clone())
        ),
        format!(
            "vendor: {} failures, top tag {:?}",
            vendor::failures(&vendor::sample(count), 90).len(),
            vendor::tag_counts(&vendor::sample(count)).first().map(|t| t.0.clone())
        ),
        format!(
            "customer: {} failures, top tag {:?}",
            customer::failures(&customer::sample(count), 90).len(),
            customer::tag_counts(&customer::sample(count)).first().map(|t| t.0.clone())
        ),
        format!(
            "asset: {} failures, top tag {:?}",
            asset::failures(&asset::sample(count), 90).len(),
            asset::tag_counts(&asset::sample(count)).first().map(|t| t.0.clone())
        ),
        format!(
            "liability: {} failures, top tag {:?}",
            liability::failures(&liability::sample(count), 90).len(),
            liability::tag_counts(&liability::sample(count)).first().map(|t| t.0.clone())
        ),
        format!(
            "equity: {} failures, top tag {:?}",
            equity::failures(&equity::sample(count), 90).len(),
            equity::tag_counts(&equity::sample(count)).first().map(|t| t.0.clone())
        ),
        format!(
            "expense: {} failures, top tag {:?}",
            expense::failures(&expense::sample(count), 90).len(),
            expense::tag_counts(&expense::sample(count)).first().map(|t| t.0.clone())
        ),
        format!(
            "revenue: {} failures, top tag {:?}",
            revenue::failures(&revenue::sample(count), 90).len(),
            revenue::tag_counts(&revenue::sample(count)).first().map(|t| t.0.clone())
        ),
    ]
}
