//! Assigning proxy numbers: the pick for one participant ([`pick`]), and writing a
//! conversation with picks that rule 2 and the cool-off accept ([`assign_and_write`]).

use std::collections::HashSet;
use std::time::Duration;

use rand::Rng;

use crate::config::{AutoRent, GeoMatch};
use crate::domain::error::CreateError;
use crate::domain::rent::{self, Rented};
use crate::model::{
    CallSettings, Checked, Conversation, ConversationStatus, Notification, NumberFacts,
    NumberState, Participant, PoolNumber,
};
use crate::model::{CreateConflict, Holdings, StoreError, WriteError};
use crate::phone::Msisdn;
use crate::ports::{Conversations, Leases, NumberChecker, NumberInventory, Pool};
use crate::values::{AccessCode, ConversationId, Country, Label, Language, Reference};

/// How numbers are assigned: plain values, from the conversation settings.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    /// Give a participant the number they had with the same counterpart before, if free.
    pub sticky: bool,
    /// Rent a number when none is free (`AUTO_RENT`).
    pub auto_rent: Option<&'a AutoRent>,
    /// The application rented numbers are linked to.
    pub application_id: Option<&'a str>,
    /// Access codes of this many digits (`ACCESS_CODES`): each participant gets one, and a
    /// participant for whom no distinct number is free shares one they hold already.
    pub access_codes: Option<u8>,
    /// Numbers flagged by number health are never picked (`QUARANTINE_FLAGGED`), nor counted
    /// against the auto-rent ceiling, so renting keeps the pool in service at its size.
    pub quarantine_flagged: bool,
    /// Prefer a number from the participant's own area within their country (`GEO_MATCH`).
    pub geo_match: GeoMatch,
}

/// How often one creation tries again after its transaction met another one on the same items,
/// before it answers `503 store_unavailable`.
pub const MAX_CONFLICT_RETRIES: u32 = 6;

/// How often one creation draws a new access code after finding its draw taken on that number,
/// before it answers `503 store_unavailable` (a number whose codes are nearly all taken needs
/// longer codes: `ACCESS_CODE_DIGITS`).
pub const MAX_CODE_DRAWS: u32 = 20;

/// One participant's proxy number as picked, and whether they hold it in another open
/// conversation too (then their calls and texts on it go by code).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pick {
    msisdn: Msisdn,
    shared: bool,
}

/// A conversation before its proxy numbers are chosen.
#[derive(Debug, Clone)]
pub struct Draft {
    pub id: ConversationId,
    pub now: i64,
    pub ttl_seconds: i64,
    pub expiry_mode: crate::model::ExpiryMode,
    pub mode: crate::model::Mode,
    pub intercept: bool,
    pub reference: Option<Reference>,
    /// Each participant, their number as the number check gave it.
    pub people: [Person; 2],
    /// The language each participant asked for; by default, their country's.
    pub languages: [Option<Language>; 2],
    /// The time zone given for each participant, over the number check's.
    pub time_zones: [Option<crate::values::TimeZone>; 2],
    /// Each participant's quiet hours.
    pub quiet_hours: [Option<crate::model::QuietHours>; 2],
    pub call: CallSettings,
}

/// A participant before their proxy number is chosen: their number, label and country, and
/// what the number check said of them.
#[derive(Debug, Clone)]
pub struct Person {
    pub number: Msisdn,
    pub label: Option<Label>,
    pub country: Country,
    pub checked: Checked,
    pub facts: NumberFacts,
}

impl Draft {
    fn with_proxies(&self, picks: &[Pick], codes: &[Option<AccessCode>; 2]) -> Conversation {
        let participants = [0, 1].map(|i| {
            let person = &self.people[i];
            let country = &person.country;
            Participant {
                number: person.number.clone(),
                label: person.label.clone(),
                proxy_number: picks[i].msisdn.clone(),
                country: country.clone(),
                notification: Some(Notification::pending()),
                language: Some(
                    self.languages[i]
                        .clone()
                        .unwrap_or_else(|| Language::for_country(country)),
                ),
                code: codes[i].clone(),
                shared: picks[i].shared,
                checked: person.checked,
                facts: person.facts.clone(),
                time_zone: self.time_zones[i].clone(),
                quiet_hours: self.quiet_hours[i].clone(),
            }
        });
        Conversation {
            id: self.id.clone(),
            status: ConversationStatus::Active,
            created_at: self.now,
            expires_at: self.now + self.ttl_seconds,
            reference: self.reference.clone(),
            participants,
            closed_at: None,
            close_reason: None,
            expiry_mode: self.expiry_mode,
            ttl_seconds: self.ttl_seconds,
            last_activity: None,
            mode: self.mode,
            intercept: self.intercept,
            call: self.call.clone(),
        }
    }
}

/// What writing came to: the conversation, or another one holds its reference.
pub enum Written {
    Created(Box<Conversation>),
    ReferenceTaken,
}

/// Picks a proxy number for each participant and writes the conversation; on a conflict, picks
/// again without the number that conflicted. `holdings` are what each participant held when
/// read (creation reads them beside the Number Insight answers). The transaction's conditions,
/// not the reads before it, are what guarantee rule 2 and the cool-off.
pub async fn assign_and_write<S, V>(
    store: &S,
    vonage: &V,
    policy: Policy<'_>,
    d: &Draft,
    mut pool: Vec<PoolNumber>,
    holdings: [Holdings; 2],
) -> Result<Written, CreateError>
where
    S: Conversations + Pool + Leases,
    V: NumberInventory + NumberChecker,
{
    let (a, b) = (&d.people[0].number, &d.people[1].number);
    let counterpart = [b, a];
    let mut excluded: [HashSet<Msisdn>; 2] =
        [0, 1].map(|i| holdings[i].excluded(counterpart[i], d.now));
    let preferred: [Option<Msisdn>; 2] = [0, 1].map(|i| {
        policy
            .sticky
            .then(|| holdings[i].previous_with(counterpart[i]).cloned())
            .flatten()
    });
    // Numbers retired or reserved (or, quarantined, flagged) meanwhile: never picked again, not
    // even to share.
    let mut unavailable: HashSet<Msisdn> = HashSet::new();
    let mut codes: [Option<AccessCode>; 2] = [0, 1].map(|_| {
        policy
            .access_codes
            .map(|d| AccessCode::random(d, &mut rand::rng()))
    });
    let mut draws = 0;
    let mut rentals = 0;
    // Each refused pick excludes a number, so picking ends at `pool_exhausted` by itself; only
    // conflicts with other transactions are retried as they are, a bounded number of times.
    let mut conflicts = 0;
    'attempts: loop {
        // The first pick counts as a use when ranking the second, to spread the load.
        let mut counted: Vec<PoolNumber> = pool
            .iter()
            .filter(|n| !(policy.quarantine_flagged && n.health_flag.is_some()))
            .cloned()
            .collect();
        let mut picks: Vec<Pick> = Vec::with_capacity(2);
        for (i, Person { country, facts, .. }) in d.people.iter().enumerate() {
            let place = Place {
                country,
                area: facts
                    .location
                    .as_deref()
                    .filter(|_| policy.geo_match == GeoMatch::Area),
            };
            let picked = {
                let rng = &mut rand::rng();
                let distinct =
                    pick(&counted, &excluded[i], place, preferred[i].as_ref(), rng).map(|n| Pick {
                        msisdn: n.msisdn.clone(),
                        shared: false,
                    });
                // With access codes, a participant no distinct number is free for shares one.
                distinct.or_else(|| {
                    policy.access_codes?;
                    pick(&counted, &unavailable, place, None, rng).map(|n| Pick {
                        msisdn: n.msisdn.clone(),
                        shared: true,
                    })
                })
            };
            let Some(picked) = picked else {
                let exhausted =
                    format!("no proxy number is free for participants[{i}] (country {country})");
                let Some(auto_rent) = policy.auto_rent.filter(|_| rentals < 2) else {
                    return Err(CreateError::PoolExhausted {
                        index: i,
                        country: country.clone(),
                        detail: format!("{exhausted}; add numbers to the pool"),
                    });
                };
                rentals += 1;
                // Renting is rare and its future large: boxed, so creation's stays small.
                let rented = Box::pin(rent::for_creation(
                    store,
                    vonage,
                    auto_rent,
                    policy.application_id,
                    country,
                    policy.quarantine_flagged,
                    crate::now(),
                ))
                .await?;
                if let Rented::Refused(why) = rented {
                    return Err(CreateError::PoolExhausted {
                        index: i,
                        country: country.clone(),
                        detail: format!("{exhausted}{why}"),
                    });
                }
                pool = store.list_pool().await?;
                continue 'attempts;
            };
            if let Some(n) = counted.iter_mut().find(|n| n.msisdn == picked.msisdn) {
                n.active_count += 1;
            }
            picks.push(picked);
        }
        // Both on one number: their codes must differ there.
        if picks[0].msisdn == picks[1].msisdn && codes[0].is_some() && codes[0] == codes[1] {
            codes[1] = policy
                .access_codes
                .map(|d| AccessCode::random(d, &mut rand::rng()));
            continue;
        }
        let conversation = d.with_proxies(&picks, &codes);
        match store
            .create_conversation_with(&conversation, policy.quarantine_flagged)
            .await
        {
            Ok(()) | Err(WriteError::Conflict(CreateConflict::AlreadyWritten)) => {
                return Ok(Written::Created(Box::new(conversation)));
            }
            Err(WriteError::Conflict(
                CreateConflict::RouteTaken(i) | CreateConflict::CoolingOff(i),
            )) => {
                excluded[i].insert(picks[i].msisdn.clone());
            }
            Err(WriteError::Conflict(CreateConflict::CodeTaken(i))) => {
                draws += 1;
                if draws > MAX_CODE_DRAWS {
                    return Err(StoreError::Contended.into());
                }
                codes[i] = policy
                    .access_codes
                    .map(|d| AccessCode::random(d, &mut rand::rng()));
            }
            Err(WriteError::Conflict(CreateConflict::NumberUnavailable(m))) => {
                excluded[0].insert(m.clone());
                excluded[1].insert(m.clone());
                unavailable.insert(m);
            }
            Err(WriteError::Conflict(CreateConflict::ReferenceTaken)) => {
                return Ok(Written::ReferenceTaken);
            }
            Err(WriteError::Conflict(CreateConflict::Contention)) => {
                conflicts += 1;
                if conflicts > MAX_CONFLICT_RETRIES {
                    return Err(StoreError::Contended.into());
                }
                let wait = 10 + rand::random_range(0..20 * conflicts as u64);
                tokio::time::sleep(Duration::from_millis(wait)).await;
            }
            Err(WriteError::Store(e)) => return Err(e.into()),
        }
    }
}

/// Where a participant is: their country, and with `GEO_MATCH=area` their area within it (the
/// number check's `offline_location`), when known.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    pub country: &'a Country,
    pub area: Option<&'a str>,
}

/// The best proxy number for a participant at `place`: an active number they may be given (not
/// in `excluded`); `preferred` (the number they had before with the same counterpart) if it is
/// one; else one in their country if there is one, from their area among those if there is one
/// (numbers whose area is not known count as another area), the least used among those, with
/// ties broken at random so parallel creations spread over the pool. `None` when nothing fits.
/// Reserved and retired numbers are never picked.
pub fn pick<'a>(
    pool: &'a [PoolNumber],
    excluded: &HashSet<Msisdn>,
    place: Place<'_>,
    preferred: Option<&Msisdn>,
    rng: &mut impl Rng,
) -> Option<&'a PoolNumber> {
    let rank = |n: &PoolNumber| {
        let elsewhere = place
            .area
            .is_some_and(|area| n.location.as_deref() != Some(area));
        (
            &n.country != place.country,
            elsewhere,
            n.active_count.max(0),
        )
    };
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

    fn c(country: &str) -> Country {
        country.parse().unwrap()
    }

    fn at(country: &Country) -> Place<'_> {
        Place {
            country,
            area: None,
        }
    }

    #[test]
    fn prefers_the_participants_area_within_their_country_then_the_least_used() {
        let located = |msisdn: &str, country: &str, area: Option<&str>, active: i64| PoolNumber {
            location: area.map(str::to_owned),
            ..number(msisdn, country, NumberState::Active, active)
        };
        let pool = vec![
            located("12125550100", "US", Some("New York"), 3),
            located("12125550101", "US", Some("New York"), 1),
            located("13105550100", "US", Some("California"), 0),
            located("13105550101", "US", None, 0),
            located("447700900010", "GB", Some("New York"), 0),
        ];
        let us = c("US");
        let mut rng = rand::rng();
        let none = HashSet::new();
        let picked = |area: Option<&str>, excluded: &HashSet<Msisdn>, rng: &mut _| {
            pick(&pool, excluded, Place { country: &us, area }, None, rng)
                .map(|n| n.msisdn.as_str().to_owned())
        };
        assert_eq!(
            picked(Some("New York"), &none, &mut rng).as_deref(),
            Some("12125550101"),
            "their area first, the least used there, never another country's same name"
        );
        let ny: HashSet<Msisdn> = pool[..2].iter().map(|n| n.msisdn.clone()).collect();
        let fallback = picked(Some("New York"), &ny, &mut rng).unwrap();
        assert!(
            ["13105550100", "13105550101"].contains(&fallback.as_str()),
            "then their country: {fallback}"
        );
        let unknown = picked(None, &none, &mut rng).unwrap();
        assert!(
            ["13105550100", "13105550101"].contains(&unknown.as_str()),
            "no area known: the country's least used, as before: {unknown}"
        );
    }

    fn number(msisdn: &str, country: &str, state: NumberState, active: i64) -> PoolNumber {
        PoolNumber {
            active_count: active,
            ..PoolNumber::new(Msisdn::from_digits(msisdn).unwrap(), c(country), state, 0)
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
            pick(&pool, &none, at(&c("GB")), None, &mut rng)
                .unwrap()
                .msisdn
                .as_str(),
            "447700900011"
        );
        assert_eq!(
            pick(&pool, &none, at(&c("US")), None, &mut rng)
                .unwrap()
                .msisdn
                .as_str(),
            "12025550100"
        );
        assert_eq!(
            pick(&pool, &none, at(&c("FR")), None, &mut rng)
                .unwrap()
                .msisdn
                .as_str(),
            "12025550100"
        );
        let held: HashSet<Msisdn> = pool[..3].iter().map(|n| n.msisdn.clone()).collect();
        assert!(
            pick(&pool, &held, at(&c("GB")), None, &mut rng).is_none(),
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
            pick(&pool, &none, at(&c("GB")), Some(&busy), &mut rng)
                .unwrap()
                .msisdn,
            busy,
            "the number they had before, however busy"
        );
        let held = HashSet::from([busy.clone()]);
        assert_eq!(
            pick(&pool, &held, at(&c("GB")), Some(&busy), &mut rng)
                .unwrap()
                .msisdn
                .as_str(),
            "447700900010",
            "unless they may not have it"
        );
        let reserved = Msisdn::from_digits("447700900012").unwrap();
        assert_eq!(
            pick(&pool, &none, at(&c("GB")), Some(&reserved), &mut rng)
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
                pick(&pool, &HashSet::new(), at(&c("GB")), None, &mut rng)
                    .unwrap()
                    .msisdn
                    .as_str()
                    .to_owned()
            })
            .collect();
        assert_eq!(seen.len(), 2);
    }
}
