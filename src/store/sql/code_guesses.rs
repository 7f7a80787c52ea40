//! Wrong codes: counted on the code's row (5 tries) and, across every code sent, on
//! the user and purpose for a day ([`MAX_DAILY_CODE_FAILURES`]), and recorded.

use time::OffsetDateTime;

use super::{Conn, End, Engine, Row, WriteTx};
use crate::audit::Event;
#[cfg(doc)]
use crate::store::MAX_DAILY_CODE_FAILURES;
use crate::store::{GUESS_WINDOW, Presented, Purpose, Redeemed, StoreError};

pub(super) const COUNT_WRONG: &str = "UPDATE one_time_codes SET attempts = attempts + 1
     WHERE purpose = $1 AND address = $2 RETURNING user_id";
// The day's count of the user and purpose whose code was guessed at: it survives new
// codes. (`WHERE` ends the SELECT, so SQLite reads `ON CONFLICT` as the upsert.)
pub(super) const COUNT_GUESS: &str = "INSERT INTO code_guesses
     (user_id, purpose, failures, window_start)
     SELECT user_id, purpose, 1, $3 FROM one_time_codes WHERE purpose = $1 AND address = $2
     ON CONFLICT (user_id, purpose) DO UPDATE SET
       failures = CASE WHEN code_guesses.window_start > $4
                       THEN code_guesses.failures + 1 ELSE 1 END,
       window_start = CASE WHEN code_guesses.window_start > $4
                           THEN code_guesses.window_start ELSE excluded.window_start END";
pub(super) const CLEAR_GUESSES: &str =
    "DELETE FROM code_guesses WHERE user_id = $1 AND purpose = $2";
pub(super) const FORGET_GUESSES: &str = "DELETE FROM code_guesses WHERE window_start <= $1";

/// A presented secret that redeemed nothing: a typed code counts against the codes
/// sent to its address and their users' day; either is recorded as `failed` (with
/// the user, when the address had a live code). Its answer, and that it commits.
pub(super) async fn count_wrong<E: Engine>(
    tx: &mut WriteTx<E>,
    purpose: Purpose,
    presented: &Presented,
    now: OffsetDateTime,
    failed: Event,
) -> Result<End<Option<Redeemed>>, StoreError> {
    let purpose = purpose.as_str();
    let mut users = Vec::new();
    if let Presented::Code { address, .. } = presented {
        let args = [purpose.into(), address.as_str().into()];
        let rows = tx.fetch_all(COUNT_WRONG, &args).await?;
        users = rows
            .iter()
            .map(|row| row.uuid("user_id"))
            .collect::<Result<Vec<_>, _>>()?;
        drop(rows);
        if !users.is_empty() {
            let args = [
                purpose.into(),
                address.as_str().into(),
                now.into(),
                (now - GUESS_WINDOW).into(),
            ];
            tx.execute(COUNT_GUESS, &args).await?;
        }
    }
    match users.as_slice() {
        [] => tx.record(&failed).await?,
        users => {
            for user in users {
                tx.record(&failed.clone().user(*user)).await?;
            }
        }
    }
    Ok(End::Commit(None))
}
