//! The playbooks a new installation starts with: the problems a cleaning or delivery service
//! meets every week, written as its best team leads handle them. Installed once, in the
//! instance's language; admins change or switch them off like their own.

use super::PlaybookSpec;
use crate::agent::Language;
use crate::case::CaseKind;
use crate::compensation::{CompensationKind, Money};

/// One scenario in both languages.
struct Scenario {
    kinds: &'static [CaseKind],
    reasons: &'static [&'static str],
    categories: &'static [&'static str],
    compensation: Option<(CompensationKind, i64)>,
    deadline_minutes: i64,
    ru: Text,
    en: Text,
}

struct Text {
    name: &'static str,
    steps: &'static [&'static str],
    reply: &'static str,
}

const PROBLEM: &[CaseKind] = &[CaseKind::Problem, CaseKind::Complaint];

const SCENARIOS: &[Scenario] = &[
    Scenario {
        kinds: PROBLEM,
        reasons: &["late"],
        categories: &[],
        compensation: Some((CompensationKind::Discount, 500)),
        deadline_minutes: 4 * 60,
        ru: Text {
            name: "Опоздание исполнителя",
            steps: &[
                "Позвонить клиенту в течение 2 часов и извиниться",
                "Выяснить у исполнителя причину опоздания",
                "Предложить скидку на следующий заказ",
                "Записать причину в заметку",
                "Сообщить клиенту итог",
            ],
            reply: "Здравствуйте! Простите, что исполнитель опоздал: ваше время для нас важно. Мы разобрались в причине и дарим скидку на следующий заказ.",
        },
        en: Text {
            name: "Late performer",
            steps: &[
                "Call the customer back within 2 hours and apologise",
                "Ask the performer why they were late",
                "Offer a discount on the next order",
                "Write the cause down in a note",
                "Tell the customer how it ended",
            ],
            reply: "Hello! We are sorry the performer was late: your time matters to us. We have looked into why, and your next order comes with a discount.",
        },
    },
    Scenario {
        kinds: PROBLEM,
        reasons: &["no_show"],
        categories: &["no_show"],
        compensation: Some((CompensationKind::FreeService, 3000)),
        deadline_minutes: 2 * 60,
        ru: Text {
            name: "Исполнитель не приехал",
            steps: &[
                "Позвонить клиенту сразу",
                "Найти замену и назвать новое время",
                "Предложить бесплатную услугу или полный возврат",
                "Разобрать случай с исполнителем",
            ],
            reply: "Здравствуйте! Нам очень жаль, что к вам никто не приехал. Мы уже нашли замену и сообщим точное время; этот заказ — за наш счёт.",
        },
        en: Text {
            name: "Performer did not come",
            steps: &[
                "Call the customer at once",
                "Find a replacement and give the new time",
                "Offer a free service or a full refund",
                "Go through the case with the performer",
            ],
            reply: "Hello! We are very sorry nobody came. We have found a replacement and will confirm the time; this order is on us.",
        },
    },
    Scenario {
        kinds: PROBLEM,
        reasons: &["damage"],
        categories: &["damage"],
        compensation: Some((CompensationKind::Refund, 5000)),
        deadline_minutes: 24 * 60,
        ru: Text {
            name: "Повреждённая вещь",
            steps: &[
                "Позвонить клиенту и извиниться",
                "Попросить фото повреждения и чек или оценку стоимости",
                "Получить объяснение исполнителя",
                "Согласовать возмещение",
                "Подтвердить клиенту выплату письменно",
            ],
            reply: "Здравствуйте! Нам жаль, что вещь пострадала. Пришлите, пожалуйста, фото и, если есть, чек — мы возместим ущерб.",
        },
        en: Text {
            name: "Damaged item",
            steps: &[
                "Call the customer and apologise",
                "Ask for photos of the damage and a receipt or an estimate",
                "Get the performer's account",
                "Agree the reimbursement",
                "Confirm the payment to the customer in writing",
            ],
            reply: "Hello! We are sorry your item was damaged. Please send us photos and, if you have it, the receipt: we will make it good.",
        },
    },
    Scenario {
        kinds: PROBLEM,
        reasons: &["quality"],
        categories: &["quality"],
        compensation: Some((CompensationKind::FreeService, 3000)),
        deadline_minutes: 8 * 60,
        ru: Text {
            name: "Плохое качество работы",
            steps: &[
                "Позвонить клиенту и уточнить, что именно не так",
                "Попросить фото",
                "Предложить бесплатную переделку в удобное время",
                "Передать замечания исполнителю и бригадиру",
            ],
            reply: "Здравствуйте! Спасибо, что сказали: так мы становимся лучше. Переделаем бесплатно — напишите, когда вам удобно.",
        },
        en: Text {
            name: "Poor quality",
            steps: &[
                "Call the customer and ask what exactly was wrong",
                "Ask for photos",
                "Offer to redo the work for free at a time that suits them",
                "Pass the remarks to the performer and their lead",
            ],
            reply: "Hello! Thank you for telling us: this is how we get better. We will redo it for free; tell us when suits you.",
        },
    },
    Scenario {
        kinds: PROBLEM,
        reasons: &["rude"],
        categories: &["rude"],
        compensation: Some((CompensationKind::Discount, 1000)),
        deadline_minutes: 4 * 60,
        ru: Text {
            name: "Грубость исполнителя",
            steps: &[
                "Позвонить клиенту и извиниться от имени компании",
                "Выслушать, что произошло, и записать",
                "Разобрать случай с исполнителем",
                "Предложить, чтобы этот исполнитель больше не приезжал",
                "Предложить скидку",
            ],
            reply: "Здравствуйте! Так вести себя недопустимо, и нам стыдно. Мы разбираемся с исполнителем; к вам он больше не приедет.",
        },
        en: Text {
            name: "Rude performer",
            steps: &[
                "Call the customer and apologise for the company",
                "Listen to what happened and write it down",
                "Go through it with the performer",
                "Offer that this performer never comes again",
                "Offer a discount",
            ],
            reply: "Hello! That behaviour is unacceptable and we are ashamed of it. We are dealing with the performer; they will not come to you again.",
        },
    },
    Scenario {
        kinds: PROBLEM,
        reasons: &["wrong_amount"],
        categories: &["billing"],
        compensation: Some((CompensationKind::Refund, 10000)),
        deadline_minutes: 24 * 60,
        ru: Text {
            name: "Списана неверная сумма",
            steps: &[
                "Сверить сумму заказа и списание",
                "Вернуть разницу",
                "Отправить клиенту чек возврата",
                "Найти, где ошиблась система или оператор",
            ],
            reply: "Здравствуйте! Вы правы: списана лишняя сумма. Мы вернули разницу, деньги придут в течение нескольких дней.",
        },
        en: Text {
            name: "Wrong amount charged",
            steps: &[
                "Compare the order amount with the charge",
                "Refund the difference",
                "Send the customer the refund receipt",
                "Find where the system or an operator went wrong",
            ],
            reply: "Hello! You are right: you were charged too much. We have refunded the difference; it will arrive within a few days.",
        },
    },
    Scenario {
        kinds: PROBLEM,
        reasons: &["incomplete"],
        categories: &["incomplete"],
        compensation: Some((CompensationKind::Refund, 2000)),
        deadline_minutes: 8 * 60,
        ru: Text {
            name: "Заказ выполнен не полностью",
            steps: &[
                "Уточнить у клиента, чего не хватило",
                "Довезти или доделать недостающее",
                "Если нельзя — вернуть стоимость",
                "Проверить сборку или чек-лист исполнителя",
            ],
            reply: "Здравствуйте! Простите, что заказ выполнен не полностью. Мы привезём или доделаем недостающее сегодня, а если не получится — вернём деньги.",
        },
        en: Text {
            name: "Order incomplete",
            steps: &[
                "Ask the customer what was missing",
                "Bring or finish what is missing",
                "If that is impossible, refund it",
                "Check the packing list or the performer's checklist",
            ],
            reply: "Hello! We are sorry your order was incomplete. We will bring or finish what is missing today, or refund it if we cannot.",
        },
    },
    Scenario {
        kinds: PROBLEM,
        reasons: &[],
        categories: &["delay"],
        compensation: Some((CompensationKind::Discount, 300)),
        deadline_minutes: 60,
        ru: Text {
            name: "Заказ задерживается",
            steps: &[
                "Сообщить клиенту новое время до того, как он спросит",
                "Предложить другое время или отмену без штрафа",
                "Следить за заказом до выполнения",
            ],
            reply: "Здравствуйте! Заказ задерживается, простите. Новое время — скоро сообщим точнее; если неудобно, перенесём или отменим без штрафа.",
        },
        en: Text {
            name: "Order delayed",
            steps: &[
                "Tell the customer the new time before they ask",
                "Offer another time or a free cancellation",
                "Follow the order until it is done",
            ],
            reply: "Hello! Your order is delayed, sorry. We will confirm the new time shortly; if it does not suit you, we will move or cancel it free of charge.",
        },
    },
    Scenario {
        kinds: PROBLEM,
        reasons: &[],
        categories: &["lost_item"],
        compensation: Some((CompensationKind::Refund, 5000)),
        deadline_minutes: 24 * 60,
        ru: Text {
            name: "Пропала вещь",
            steps: &[
                "Записать, что пропало, когда и где видели в последний раз",
                "Связаться с исполнителем",
                "Сообщить клиенту результат поиска",
                "Если вещь не нашлась — согласовать возмещение",
            ],
            reply: "Здравствуйте! Мы отнеслись к этому серьёзно и уже связались с исполнителем. Вернёмся с ответом до конца дня.",
        },
        en: Text {
            name: "Missing item",
            steps: &[
                "Write down what is missing, when and where it was last seen",
                "Contact the performer",
                "Tell the customer what the search found",
                "If it was not found, agree a reimbursement",
            ],
            reply: "Hello! We take this seriously and have already contacted the performer. We will come back to you before the end of the day.",
        },
    },
    Scenario {
        kinds: &[CaseKind::Complaint],
        reasons: &[],
        categories: &[],
        compensation: Some((CompensationKind::Discount, 1000)),
        deadline_minutes: 8 * 60,
        ru: Text {
            name: "Жалоба",
            steps: &[
                "Поблагодарить за то, что клиент сказал",
                "Объяснить, почему это для нас важно",
                "Извиниться",
                "Рассказать, что мы делаем",
                "Предложить решение и договориться",
            ],
            reply: "Здравствуйте! Спасибо, что написали: без таких писем мы бы не узнали, где ошибаемся. Нам важно, чтобы вы могли на нас положиться, поэтому простите за этот случай. Вот что мы уже сделали: …",
        },
        en: Text {
            name: "Complaint",
            steps: &[
                "Thank the customer for telling us",
                "Explain why it matters to us",
                "Apologise",
                "Say what we are doing about it",
                "Offer a resolution and agree on it",
            ],
            reply: "Hello! Thank you for writing: without letters like yours we would not know where we fail. We want you to be able to rely on us, so we are sorry about this. Here is what we have done already: …",
        },
    },
    Scenario {
        kinds: &[CaseKind::Problem],
        reasons: &[],
        categories: &[],
        compensation: Some((CompensationKind::Discount, 500)),
        deadline_minutes: 4 * 60,
        ru: Text {
            name: "Низкая оценка",
            steps: &[
                "Позвонить клиенту в тот же день и извиниться",
                "Выяснить, что пошло не так",
                "Предложить компенсацию в пределах лимита",
                "Записать причину и итог",
            ],
            reply: "Здравствуйте! Видим, что мы вас огорчили, и хотим это исправить. Расскажите, пожалуйста, что пошло не так?",
        },
        en: Text {
            name: "Low rating",
            steps: &[
                "Call the customer the same day and apologise",
                "Find out what went wrong",
                "Offer a compensation within the limit",
                "Write down the cause and the outcome",
            ],
            reply: "Hello! We can see we let you down and we want to put it right. Could you tell us what went wrong?",
        },
    },
];

/// The starter playbooks in `language`, with compensation limits in `currency`.
pub fn starter(language: Language, currency: &str) -> Vec<PlaybookSpec> {
    SCENARIOS
        .iter()
        .map(|s| {
            let text = if language == Language::Ru { &s.ru } else { &s.en };
            PlaybookSpec {
                name: text.name.to_owned(),
                kinds: s.kinds.to_vec(),
                reasons: s.reasons.iter().map(|r| (*r).to_owned()).collect(),
                categories: s.categories.iter().map(|c| (*c).to_owned()).collect(),
                checklist: text.steps.iter().map(|t| (*t).to_owned()).collect(),
                reply: text.reply.to_owned(),
                compensation_kind: s.compensation.map(|(kind, _)| kind),
                compensation_limit: s.compensation.map(|(_, major)| Money { minor: major * 100, currency: currency.to_owned() }),
                deadline_minutes: s.deadline_minutes,
                active: true,
            }
        })
        .collect()
}
