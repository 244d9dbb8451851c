//! Where a case stands, and which way it may move: the status machine every change of a case
//! goes through, whoever makes it.

use crate::string_enum;

string_enum! {
    /// Where a case stands. `new` until an agent acts; `closed` is final.
    pub enum Status {
        New => "new",
        Open => "open",
        PendingCustomer => "pending_customer",
        PendingInternal => "pending_internal",
        OnHold => "on_hold",
        Solved => "solved",
        Closed => "closed",
    }
}

impl Status {
    /// Solved and closed cases are done; every other status still needs work.
    pub fn is_active(self) -> bool {
        !matches!(self, Status::Solved | Status::Closed)
    }

    /// The allowed transitions. Closing happens only after solving; nothing returns to `new`;
    /// `closed` is final (a customer writing again starts a follow-up case).
    pub fn can_become(self, to: Status) -> bool {
        use Status::*;
        match (self, to) {
            (Closed, _) | (_, New) => false,
            (from, to) if from == to => true,
            (Solved, Open | Closed) => true,
            (Solved, _) => false,
            (_, Closed) => false,
            _ => true,
        }
    }

    /// What a customer's new message does to the status: anything still in play reopens, a new
    /// case stays new, a closed case stays closed (the caller opens a follow-up).
    pub fn after_customer_message(self) -> Status {
        match self {
            Status::New | Status::Closed => self,
            _ => Status::Open,
        }
    }

    /// What an agent's reply does when no status is chosen with it: a new case is now being
    /// worked; any other status stays.
    pub fn after_reply(self, chosen: Option<Status>) -> Status {
        match chosen {
            Some(status) => status,
            None if self == Status::New => Status::Open,
            None => self,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_follow_the_lifecycle() {
        use Status::*;
        assert!(New.can_become(Open) && Open.can_become(PendingCustomer) && PendingCustomer.can_become(Solved));
        assert!(Solved.can_become(Closed) && Solved.can_become(Open));
        assert!(!Open.can_become(Closed), "closing happens only after solving");
        assert!(!Solved.can_become(PendingCustomer));
        assert!(!Open.can_become(New));
        for to in Status::ALL {
            assert!(!Closed.can_become(*to), "closed is final");
        }
    }

    #[test]
    fn customer_message_reopens_what_is_in_play() {
        assert_eq!(Status::Solved.after_customer_message(), Status::Open);
        assert_eq!(Status::PendingCustomer.after_customer_message(), Status::Open);
        assert_eq!(Status::New.after_customer_message(), Status::New);
        assert_eq!(Status::Closed.after_customer_message(), Status::Closed);
    }

    #[test]
    fn a_reply_puts_a_new_case_to_work() {
        assert_eq!(Status::New.after_reply(None), Status::Open);
        assert_eq!(Status::PendingCustomer.after_reply(None), Status::PendingCustomer);
        assert_eq!(Status::New.after_reply(Some(Status::Solved)), Status::Solved);
    }
}
