//! Choosing a proxy number for a participant.

use std::collections::HashSet;

use rand::Rng;

use crate::model::{NumberState, PoolNumber};
use crate::phone::Msisdn;

/// The best proxy number for a participant in `country`: an active number they may be given
/// (not in `excluded`); `preferred` (the number they had before with the same counterpart) if
/// it is one; else one in their country if there is one, the least used among those, with ties
/// broken at random so parallel creations spread over the pool. `None` when nothing fits.
/// Reserved and retired numbers are never picked.
pub fn pick<'a>(
    pool: &'a [PoolNumber],
    excluded: &HashSet<Msisdn>,
    country: &str,
    preferred: Option<&Msisdn>,
    rng: &mut impl Rng,
) -> Option<&'a PoolNumber> {
    let rank = |n: &PoolNumber| (n.country != country, n.active_count.max(0));
    let candidates: Vec<&PoolNumber> = pool
        .iter()
        .filter(|n| n.state == NumberState::Active && !excluded.contains(&n.msisdn))
        .collect();
    if let Some(sticky) = candidates.iter().find(|n| Some(&n.msisdn) == preferred) {
        return Some(sticky);
    }
    let best = candidates.iter().map(|n| rank(n)).min()?;
    let ties: Vec<&PoolNumber> = candidates.into_iter().filter(|n| rank(n) == best).collect();
    Some(ties[rng.random_range(0..ties.len())])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(msisdn: &str, country: &str, state: NumberState, active: i64) -> PoolNumber {
        PoolNumber {
            active_count: active,
            ..PoolNumber::new(Msisdn::from_digits(msisdn).unwrap(), country, state, 0)
        }
    }

    #[test]
    fn prefers_the_participants_country_then_the_least_used() {
        let pool = vec![
            number("12025550100", "US", NumberState::Active, 0),
            number("447700900010", "GB", NumberState::Active, 5),
            number("447700900011", "GB", NumberState::Active, 2),
            number("447700900012", "GB", NumberState::Reserved, 0),
            number("447700900013", "GB", NumberState::Retired, 0),
        ];
        let mut rng = rand::rng();
        let none = HashSet::new();
        assert_eq!(
            pick(&pool, &none, "GB", None, &mut rng)
                .unwrap()
                .msisdn
                .as_str(),
            "447700900011"
        );
        assert_eq!(
            pick(&pool, &none, "US", None, &mut rng)
                .unwrap()
                .msisdn
                .as_str(),
            "12025550100"
        );
        assert_eq!(
            pick(&pool, &none, "FR", None, &mut rng)
                .unwrap()
                .msisdn
                .as_str(),
            "12025550100"
        );
        let held: HashSet<Msisdn> = pool[..3].iter().map(|n| n.msisdn.clone()).collect();
        assert!(
            pick(&pool, &held, "GB", None, &mut rng).is_none(),
            "reserved and retired are never picked"
        );
    }

    #[test]
    fn a_preferred_number_wins_when_it_may_be_given() {
        let pool = vec![
            number("447700900010", "GB", NumberState::Active, 0),
            number("447700900011", "GB", NumberState::Active, 9),
            number("447700900012", "GB", NumberState::Reserved, 0),
        ];
        let mut rng = rand::rng();
        let busy = Msisdn::from_digits("447700900011").unwrap();
        let none = HashSet::new();
        assert_eq!(
            pick(&pool, &none, "GB", Some(&busy), &mut rng)
                .unwrap()
                .msisdn,
            busy,
            "the number they had before, however busy"
        );
        let held = HashSet::from([busy.clone()]);
        assert_eq!(
            pick(&pool, &held, "GB", Some(&busy), &mut rng)
                .unwrap()
                .msisdn
                .as_str(),
            "447700900010",
            "unless they may not have it"
        );
        let reserved = Msisdn::from_digits("447700900012").unwrap();
        assert_eq!(
            pick(&pool, &none, "GB", Some(&reserved), &mut rng)
                .unwrap()
                .msisdn
                .as_str(),
            "447700900010",
            "and never a reserved one"
        );
    }

    #[test]
    fn ties_are_spread() {
        let pool = vec![
            number("447700900010", "GB", NumberState::Active, 1),
            number("447700900011", "GB", NumberState::Active, 1),
        ];
        let mut rng = rand::rng();
        let seen: HashSet<String> = (0..64)
            .map(|_| {
                pick(&pool, &HashSet::new(), "GB", None, &mut rng)
                    .unwrap()
                    .msisdn
                    .as_str()
                    .to_owned()
            })
            .collect();
        assert_eq!(seen.len(), 2);
    }
}
