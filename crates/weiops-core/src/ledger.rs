//! Double-entry bookkeeping rules (复式记账), pure.
//!
//! An entry is a list of lines, each a debit or a credit of a positive
//! amount on one account (optionally for one agent, for the accounts that
//! keep a sub-ledger per agent). An entry is acceptable only when its debits
//! equal its credits; [`check_entry`] is the code-side guard, and the
//! database refuses to post an entry whose stored lines disagree with it.

use serde::{Deserialize, Serialize};

use crate::money::Fen;

/// The side of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Debit,
    Credit,
}

/// One line of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryLine {
    /// Account code of the chart (`"2242"`).
    pub account: String,
    /// The agent of a per-agent account (sub-ledger), else `None`.
    pub agent_id: Option<i64>,
    pub side: Side,
    /// Strictly positive.
    pub amount: Fen,
}

impl EntryLine {
    pub fn debit(account: &str, agent_id: Option<i64>, amount: Fen) -> EntryLine {
        EntryLine {
            account: account.to_string(),
            agent_id,
            side: Side::Debit,
            amount,
        }
    }

    pub fn credit(account: &str, agent_id: Option<i64>, amount: Fen) -> EntryLine {
        EntryLine {
            account: account.to_string(),
            agent_id,
            side: Side::Credit,
            amount,
        }
    }

    /// The same line on the other side: reversing an entry.
    pub fn reversed(&self) -> EntryLine {
        EntryLine {
            side: match self.side {
                Side::Debit => Side::Credit,
                Side::Credit => Side::Debit,
            },
            ..self.clone()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("an entry needs at least one debit and one credit")]
    TooFewLines,
    #[error("every line amount must be positive")]
    NotPositive,
    #[error("debits {debit} and credits {credit} differ")]
    Unbalanced { debit: Fen, credit: Fen },
    #[error("amounts overflow")]
    Overflow,
}

impl EntryError {
    pub fn key(self) -> &'static str {
        match self {
            EntryError::TooFewLines => "ledger.too_few_lines",
            EntryError::NotPositive => "ledger.not_positive",
            EntryError::Unbalanced { .. } => "ledger.unbalanced",
            EntryError::Overflow => "ledger.overflow",
        }
    }
}

/// Checks an entry; returns its total (debits = credits).
pub fn check_entry(lines: &[EntryLine]) -> Result<Fen, EntryError> {
    let mut debit = 0i64;
    let mut credit = 0i64;
    let (mut debits, mut credits) = (0usize, 0usize);
    for l in lines {
        if l.amount.0 <= 0 {
            return Err(EntryError::NotPositive);
        }
        let sum = match l.side {
            Side::Debit => {
                debits += 1;
                &mut debit
            }
            Side::Credit => {
                credits += 1;
                &mut credit
            }
        };
        *sum = sum.checked_add(l.amount.0).ok_or(EntryError::Overflow)?;
    }
    if debits == 0 || credits == 0 {
        return Err(EntryError::TooFewLines);
    }
    if debit != credit {
        return Err(EntryError::Unbalanced {
            debit: Fen(debit),
            credit: Fen(credit),
        });
    }
    Ok(Fen(debit))
}

/// The kind of an account decides on which side its balance is normal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    Asset,
    Liability,
    Equity,
    Revenue,
    Expense,
}

impl AccountKind {
    pub fn parse(s: &str) -> Option<AccountKind> {
        Some(match s {
            "asset" => AccountKind::Asset,
            "liability" => AccountKind::Liability,
            "equity" => AccountKind::Equity,
            "revenue" => AccountKind::Revenue,
            "expense" => AccountKind::Expense,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Asset => "asset",
            AccountKind::Liability => "liability",
            AccountKind::Equity => "equity",
            AccountKind::Revenue => "revenue",
            AccountKind::Expense => "expense",
        }
    }

    /// Assets and expenses grow by debits; the others by credits.
    pub fn normal_side(self) -> Side {
        match self {
            AccountKind::Asset | AccountKind::Expense => Side::Debit,
            _ => Side::Credit,
        }
    }

    /// The balance on the normal side from the sums of debits and credits.
    pub fn balance(self, debit: Fen, credit: Fen) -> Fen {
        match self.normal_side() {
            Side::Debit => Fen(debit.0.saturating_sub(credit.0)),
            Side::Credit => Fen(credit.0.saturating_sub(debit.0)),
        }
    }
}

/// Well-known accounts of the seeded chart.
pub mod accounts {
    pub const BANK: &str = "1002";
    pub const INVENTORY: &str = "1405";
    pub const AGENT_PREPAYMENTS: &str = "2203";
    pub const REWARDS_PAYABLE: &str = "2241";
    pub const AGENT_WALLETS: &str = "2242";
    pub const WITHDRAWALS_IN_PROCESS: &str = "2243";
    pub const SALES_REVENUE: &str = "6001";
    pub const WITHDRAWAL_FEES: &str = "6051";
    pub const COST_OF_GOODS: &str = "6401";
    pub const REWARD_EXPENSE: &str = "6601";
    pub const REFUNDS: &str = "6604";
}

/// The fee of a withdrawal: `floor(amount * fee_bp / 10000)` but at least
/// `min_fee`, never more than the amount.
pub fn withdrawal_fee(amount: Fen, fee_bp: crate::money::Bp, min_fee: Fen) -> Fen {
    let rate = (i128::from(amount.0.max(0)) * i128::from(fee_bp.0)).div_euclid(10_000);
    let fee = i64::try_from(rate).unwrap_or(i64::MAX).max(min_fee.0);
    Fen(fee.clamp(0, amount.0.max(0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Bp;

    #[test]
    fn balanced_entries_pass_and_others_fail() {
        let ok = [
            EntryLine::debit("6601", None, Fen(300)),
            EntryLine::credit("2241", Some(1), Fen(100)),
            EntryLine::credit("2241", Some(2), Fen(200)),
        ];
        assert_eq!(check_entry(&ok), Ok(Fen(300)));
        let bad = [
            EntryLine::debit("6601", None, Fen(300)),
            EntryLine::credit("2241", Some(1), Fen(299)),
        ];
        assert_eq!(
            check_entry(&bad),
            Err(EntryError::Unbalanced {
                debit: Fen(300),
                credit: Fen(299)
            })
        );
        assert_eq!(
            check_entry(&[EntryLine::debit("1002", None, Fen(1))]),
            Err(EntryError::TooFewLines)
        );
        assert_eq!(
            check_entry(&[
                EntryLine::debit("1002", None, Fen(0)),
                EntryLine::credit("6001", None, Fen(0))
            ]),
            Err(EntryError::NotPositive)
        );
        assert_eq!(
            check_entry(&[
                EntryLine::debit("1002", None, Fen(i64::MAX)),
                EntryLine::debit("1002", None, Fen(1)),
                EntryLine::credit("6001", None, Fen(1))
            ]),
            Err(EntryError::Overflow)
        );
    }

    #[test]
    fn reversal_balances() {
        let lines = [
            EntryLine::debit("6601", None, Fen(5)),
            EntryLine::credit("2241", Some(1), Fen(5)),
        ];
        let rev: Vec<_> = lines.iter().map(EntryLine::reversed).collect();
        assert_eq!(check_entry(&rev), Ok(Fen(5)));
        assert_eq!(rev[0].side, Side::Credit);
    }

    #[test]
    fn normal_balances() {
        assert_eq!(AccountKind::Asset.balance(Fen(10), Fen(3)), Fen(7));
        assert_eq!(AccountKind::Liability.balance(Fen(3), Fen(10)), Fen(7));
    }

    #[test]
    fn fees() {
        assert_eq!(withdrawal_fee(Fen(10_000), Bp(60), Fen(0)), Fen(60));
        assert_eq!(withdrawal_fee(Fen(100), Bp(60), Fen(100)), Fen(100));
        assert_eq!(withdrawal_fee(Fen(50), Bp(60), Fen(100)), Fen(50));
        assert_eq!(withdrawal_fee(Fen(10_000), Bp(0), Fen(0)), Fen(0));
    }
}
