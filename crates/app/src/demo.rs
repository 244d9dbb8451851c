//! Demo data for a first look: a cleaning and delivery service's support desk in Russian, with a
//! few English-speaking SaaS customers. Cases in every status, with conversations, notes,
//! hand-overs, collaborators and compensations, dated over the last two weeks, written through
//! the same use cases agents use.

use opora_domain::access::CaseAccess;
use opora_domain::agent::{Language, Role};
use opora_domain::case::{ActingAgent, CaseKind, Priority, Status};
use opora_domain::channel::ChannelKind;
use opora_domain::compensation::{CompensationKind, Money};
use opora_domain::customer::IdentityKind;
use opora_domain::error::Errors;
use opora_domain::event::Actor;
use opora_domain::field::{FieldType, SelectOption};
use opora_domain::message::Body;
use opora_domain::{AgentId, TeamId, Timestamp};
use opora_store::agents::{self, NewAgent};
use opora_store::{cases, fields};

use crate::cases::{CaseChange, Grant, NewCaseSpec};
use crate::customers::CustomerSpec;
use crate::{App, Result, Unit};

pub const PASSWORD: &str = "opora-demo-2026";

/// The demo accounts: e-mail, name, role, language, team index.
const AGENTS: &[(&str, &str, Role, Language, Option<usize>)] = &[
    ("admin@demo.opora.dev", "Анна Смирнова", Role::Admin, Language::Ru, None),
    ("igor@demo.opora.dev", "Игорь Петров", Role::Supervisor, Language::Ru, Some(1)),
    ("maria@demo.opora.dev", "Мария Иванова", Role::Agent, Language::Ru, Some(0)),
    ("dmitry@demo.opora.dev", "Дмитрий Козлов", Role::Agent, Language::Ru, Some(1)),
    ("olga@demo.opora.dev", "Olga Brown", Role::Agent, Language::En, Some(2)),
    ("alexey@demo.opora.dev", "Алексей Никитин", Role::Agent, Language::Ru, Some(3)),
    ("svetlana@demo.opora.dev", "Светлана Орлова", Role::Viewer, Language::Ru, None),
];

const TEAMS: &[&str] = &["Первая линия", "Претензии", "Биллинг", "Связь с разработкой"];

/// Customers: name, e-mail, phone, Telegram, "our client".
const CUSTOMERS: &[(&str, &str, &str, &str, bool)] = &[
    ("Екатерина Волкова", "volkova.ek@mail.ru", "+7 916 204-11-87", "", true),
    ("Сергей Морозов", "s.morozov@yandex.ru", "8 (926) 555-01-02", "@smorozov", false),
    ("ООО «Ромашка»", "office@romashka-msk.ru", "+7 495 123-45-67", "", true),
    ("Наталья Лебедева", "nlebedeva@gmail.com", "", "@nata_leb", false),
    ("Павел Соколов", "pavel.sokolov@inbox.ru", "+7 903 777-12-34", "", false),
    ("Ирина Кузнецова", "irina.k@bk.ru", "+7 915 100-20-30", "", false),
    ("John Miller", "john@brightpixel.io", "+1 415 555 0134", "", false),
    ("Emma Wilson", "emma.wilson@northwind.co.uk", "", "", true),
    ("Андрей Федоров", "fedorov.a@rambler.ru", "+7 921 345-67-89", "@afedorov", false),
    ("Кафе «Пышка»", "hello@pyshka-cafe.ru", "+7 812 600-70-80", "", false),
    ("Лиам Чен", "liam.chen@acme.dev", "", "", false),
    ("Ольга Никифорова", "o.nikiforova@list.ru", "+7 926 888-99-00", "", false),
];

/// One demo case: what happened, in order.
struct Story {
    customer: usize,
    subject: &'static str,
    kind: CaseKind,
    priority: Priority,
    channel: ChannelKind,
    team: Option<usize>,
    owner: Option<usize>,
    hours_ago: i64,
    tags: &'static [&'static str],
    city: Option<&'static str>,
    order_no: Option<&'static str>,
    budget: Option<(i64, &'static str)>,
    steps: &'static [Step],
    status: Status,
}

enum Step {
    Customer(&'static str),
    Reply(&'static str),
    Note(&'static str),
    PullIn(usize),
    HandOver(usize, &'static str),
    Compensate(CompensationKind, i64, &'static str),
}

use CaseKind::*;
use Priority::*;
use Step::*;

const STORIES: &[Story] = &[
    Story {
        customer: 0,
        subject: "Клинер опоздал на два часа",
        kind: Complaint,
        priority: High,
        channel: ChannelKind::Phone,
        team: Some(1),
        owner: Some(3),
        hours_ago: 30,
        tags: &["опоздание", "уборка"],
        city: Some("msk"),
        order_no: Some("CL-20481"),
        budget: Some((150_000, "RUB")),
        status: Status::Solved,
        steps: &[
            Customer("Заказывала уборку на 10:00, клинер приехал в 12:10 и никто не предупредил. Пришлось отменить встречу."),
            Reply(
                "Екатерина, спасибо, что сообщили — это важно для нас. Приносим извинения: такого быть не должно. Разбираемся с графиком бригады и вернёмся с ответом сегодня.",
            ),
            Note("Бригада 7: сломалась машина, диспетчер не позвонил клиенту. Передал руководителю смены."),
            Compensate(CompensationKind::Discount, 100_000, "Скидка 1000 ₽ на следующую уборку"),
            Reply(
                "Мы поговорили с бригадой и диспетчером: теперь о любой задержке клиент узнаёт сразу. На следующую уборку действует скидка 1000 ₽. Спасибо, что помогаете нам стать лучше.",
            ),
        ],
    },
    Story {
        customer: 1,
        subject: "Не пришёл курьер с заказом №5512",
        kind: Problem,
        priority: Urgent,
        channel: ChannelKind::Telegram,
        team: Some(0),
        owner: Some(2),
        hours_ago: 3,
        tags: &["доставка"],
        city: Some("msk"),
        order_no: Some("D-5512"),
        budget: Some((50_000, "RUB")),
        status: Status::Open,
        steps: &[
            Customer("Жду с 14:00, курьер не отвечает. Заказ D-5512."),
            Reply("Сергей, уже связываемся с курьером, напишу через 10 минут."),
            Note("Курьер в пробке на МКАД, ETA 16:20. Предложить перенос или скидку на доставку."),
        ],
    },
    Story {
        customer: 2,
        subject: "Счёт за ноябрь: не учтена предоплата",
        kind: Question,
        priority: Normal,
        channel: ChannelKind::Email,
        team: Some(2),
        owner: Some(4),
        hours_ago: 50,
        tags: &["счёт"],
        city: None,
        order_no: None,
        budget: None,
        status: Status::PendingCustomer,
        steps: &[
            Customer("Добрый день! В счёте №1182 не учтена предоплата 15 000 ₽ от 3 ноября."),
            Reply("Здравствуйте! Проверили: предоплата поступила. Пришлите, пожалуйста, платёжку — исправим счёт в течение дня."),
        ],
    },
    Story {
        customer: 3,
        subject: "Как перенести уборку на субботу?",
        kind: Question,
        priority: Low,
        channel: ChannelKind::Telegram,
        team: Some(0),
        owner: None,
        hours_ago: 1,
        tags: &[],
        city: Some("spb"),
        order_no: Some("CL-20530"),
        budget: None,
        status: Status::New,
        steps: &[Customer("Здравствуйте, можно перенести уборку с пятницы на субботу, то же время?")],
    },
    Story {
        customer: 4,
        subject: "Разбили вазу при уборке",
        kind: Complaint,
        priority: High,
        channel: ChannelKind::Email,
        team: Some(1),
        owner: Some(3),
        hours_ago: 70,
        tags: &["ущерб", "уборка"],
        city: Some("msk"),
        order_no: Some("CL-20377"),
        budget: Some((800_000, "RUB")),
        status: Status::PendingInternal,
        steps: &[
            Customer("После уборки обнаружил разбитую вазу в гостиной. Это подарок, очень неприятно."),
            Reply(
                "Павел, нам очень жаль. Спасибо, что написали сразу. Мы возместим ущерб — пришлите, пожалуйста, фото и примерную стоимость.",
            ),
            PullIn(1),
            Note("Игорь, нужна виза на компенсацию выше 5000 ₽: клиент оценил вазу в 7500 ₽."),
            Compensate(CompensationKind::Refund, 750_000, "Возмещение стоимости вазы"),
        ],
    },
    Story {
        customer: 5,
        subject: "Не могу войти в личный кабинет",
        kind: Problem,
        priority: Normal,
        channel: ChannelKind::Web,
        team: Some(3),
        owner: Some(2),
        hours_ago: 26,
        tags: &["вход"],
        city: None,
        order_no: None,
        budget: None,
        status: Status::OnHold,
        steps: &[
            Customer("После смены пароля пишет «неверный код». Пробовала три раза."),
            HandOver(5, "Похоже на ошибку в сервисе кодов, нужен разработчик"),
            Note("Воспроизвёл: SMS-коды приходят с задержкой 5+ минут у одного оператора. Завёл задачу разработке."),
            Reply("Ирина, нашли причину: задержка SMS у вашего оператора. Исправление выйдет завтра, пока можно войти по коду из письма."),
        ],
    },
    Story {
        customer: 6,
        subject: "Invoice shows the wrong VAT number",
        kind: Question,
        priority: Normal,
        channel: ChannelKind::Email,
        team: Some(2),
        owner: Some(4),
        hours_ago: 100,
        tags: &["invoice"],
        city: None,
        order_no: None,
        budget: None,
        status: Status::Closed,
        steps: &[
            Customer("Hi, our VAT number on invoice INV-3391 is outdated. Could you reissue it?"),
            Reply("Hi John, done — the corrected invoice is attached to your account. Sorry for the trouble!"),
            Customer("Got it, thanks!"),
        ],
    },
    Story {
        customer: 7,
        subject: "Service outage this morning — any compensation?",
        kind: IncidentReport,
        priority: High,
        channel: ChannelKind::Email,
        team: Some(2),
        owner: Some(4),
        hours_ago: 20,
        tags: &["outage", "sla"],
        city: None,
        order_no: None,
        budget: Some((20_000, "GBP")),
        status: Status::Solved,
        steps: &[
            Customer("Your app was down from 8:10 to 9:40 our time and our couriers could not check in. Is there an SLA credit?"),
            Reply(
                "Emma, you are right, and thank you for telling us. The outage hit the check-in service; it is fixed and we added monitoring. We have credited your account.",
            ),
            Compensate(CompensationKind::Credit, 20_000, "SLA credit for 90 minutes of downtime"),
        ],
    },
    Story {
        customer: 8,
        subject: "Хочу оставить благодарность клинеру Марине",
        kind: Question,
        priority: Low,
        channel: ChannelKind::Phone,
        team: Some(0),
        owner: Some(2),
        hours_ago: 12,
        tags: &["благодарность"],
        city: Some("ekb"),
        order_no: Some("CL-20502"),
        budget: None,
        status: Status::Solved,
        steps: &[
            Customer("Марина убрала идеально, даже духовку отмыла. Передайте ей спасибо!"),
            Reply("Андрей, спасибо за тёплые слова! Обязательно передадим Марине."),
        ],
    },
    Story {
        customer: 9,
        subject: "Регулярная уборка кафе: изменить график",
        kind: Question,
        priority: Normal,
        channel: ChannelKind::Email,
        team: Some(0),
        owner: Some(2),
        hours_ago: 6,
        tags: &["b2b", "график"],
        city: Some("spb"),
        order_no: None,
        budget: None,
        status: Status::Open,
        steps: &[
            Customer("Нужно перенести ежедневную уборку на 7:00 вместо 22:00 с 1 декабря."),
            Reply("Здравствуйте! Проверяем свободные бригады на утро, ответим до конца дня."),
        ],
    },
    Story {
        customer: 10,
        subject: "API returns 500 on bulk order import",
        kind: Problem,
        priority: Urgent,
        channel: ChannelKind::Api,
        team: Some(3),
        owner: Some(5),
        hours_ago: 2,
        tags: &["api", "bug"],
        city: None,
        order_no: None,
        budget: None,
        status: Status::Open,
        steps: &[
            Customer("POST /orders/bulk fails with 500 for files over 2 MB. Request id 7f3a9."),
            Note("Reproduced on staging; payload limit in the gateway is 2 MB. Raising with the platform team."),
            Reply("Liam, we found it: a gateway limit. A fix is deploying; until then please split files under 2 MB."),
        ],
    },
    Story {
        customer: 11,
        subject: "Повторная жалоба: снова не убрали балкон",
        kind: Complaint,
        priority: High,
        channel: ChannelKind::Phone,
        team: Some(1),
        owner: None,
        hours_ago: 4,
        tags: &["повторно", "уборка"],
        city: Some("msk"),
        order_no: Some("CL-20519"),
        budget: Some((100_000, "RUB")),
        status: Status::New,
        steps: &[Customer("Уже второй раз балкон остаётся грязным, хотя он в заказе. Прошу перезвонить.")],
    },
    Story {
        customer: 0,
        subject: "Подтвердите уборку после ремонта 28 ноября",
        kind: Callback,
        priority: Normal,
        channel: ChannelKind::Phone,
        team: Some(0),
        owner: Some(2),
        hours_ago: 9,
        tags: &["после-ремонта"],
        city: Some("msk"),
        order_no: Some("CL-20544"),
        budget: None,
        status: Status::PendingCustomer,
        steps: &[
            Customer("Перезвоните, пожалуйста, уточнить объём работ."),
            Reply("Екатерина, звонила вам в 15:20, не дозвонилась. Удобно ли завтра с 10 до 12?"),
        ],
    },
];

fn body(text: &str) -> Body {
    Body { text: text.to_owned(), html: None }
}

fn add_story(
    u: &mut Unit<'_, '_>,
    story: &Story,
    agents: &[AgentId],
    teams: &[TeamId],
    customers: &[opora_domain::CustomerId],
    now: Timestamp,
) -> opora_store::Result<()> {
    let mut at = now.plus_minutes(-story.hours_ago * 60);
    u.set_now(at);
    let customer = customers[story.customer];
    let mut custom = std::collections::BTreeMap::new();
    if let Some(city) = story.city {
        custom.insert("city".into(), city.into());
    }
    if let Some(order) = story.order_no {
        custom.insert("order_no".into(), order.into());
    }
    let new = NewCaseSpec {
        subject: story.subject.to_owned(),
        customer_id: customer,
        kind: story.kind,
        priority: story.priority,
        channel_kind: story.channel,
        channel_id: None,
        team_id: story.team.map(|t| teams[t]),
        owner_id: None,
        category: None,
        tags: story.tags.iter().map(|t| (*t).to_owned()).collect(),
        custom_fields: custom,
        deadline_at: None,
        budget: story.budget.map(|(minor, currency)| Money { minor, currency: currency.into() }),
    };
    let case = crate::cases::open_case(u, new, Actor::agent(agents[0]))?;
    let owner = story.owner.map(|o| agents[o]).unwrap_or(agents[2]);
    let acting = |index: AgentId| ActingAgent { id: index, role: Role::Supervisor, access: CaseAccess::All };
    if story.owner.is_some() {
        crate::cases::take(u, case.id, acting(owner))?;
    }
    let mut current_owner = owner;
    for step in story.steps {
        at = at.plus_minutes(23);
        u.set_now(at);
        match step {
            Customer(text) => {
                crate::messages::relay_inbound(u, case.id, body(text), Vec::new(), None)?;
            }
            Reply(text) => {
                crate::messages::reply(u, case.id, acting(current_owner), body(text), Vec::new(), Default::default())?;
            }
            Note(text) => {
                crate::messages::note(u, case.id, acting(current_owner), body(text), Vec::new())?;
            }
            PullIn(agent) => {
                crate::cases::pull_in(u, case.id, acting(current_owner), agents[*agent])?;
            }
            HandOver(agent, reason) => {
                crate::cases::transfer(u, case.id, acting(current_owner), agents[*agent], reason)?;
                current_owner = agents[*agent];
            }
            Compensate(kind, minor, note) => {
                let amount = Money { minor: *minor, currency: "RUB".to_owned() };
                let grant = Grant { kind: *kind, amount, currency_given: false, note: (*note).to_owned(), ask_supervisor: false };
                crate::cases::grant(u, case.id, acting(agents[1]), grant)?;
            }
        }
    }
    u.set_now(at.plus_minutes(5));
    let statuses = match story.status {
        Status::New => vec![],
        Status::Closed => vec![Status::Solved, Status::Closed],
        other => vec![other],
    };
    for status in statuses {
        let before = cases::get(u.conn(), case.id)?;
        if before.status != status {
            let after = crate::cases::apply(u, &before, CaseChange { status: Some(status), ..Default::default() })?;
            crate::cases::save(u, &before, after, Actor::agent(current_owner))?;
        }
    }
    Ok(())
}

/// Loads the demo into an empty database. Returns the admin's e-mail.
/// Every account gets the password whose hash is given.
pub async fn load(app: &App, password_hash: String) -> Result<&'static str> {
    let hash = password_hash;
    app.write(move |u| {
        let now = Timestamp::now();
        u.set_now(now.plus_minutes(-15 * 24 * 60));
        let system = Actor::SYSTEM;
        let mut agent_ids = Vec::new();
        for (email, name, role, language, _) in AGENTS {
            let new = NewAgent {
                email: (*email).into(),
                name: (*name).into(),
                role: *role,
                language: *language,
                password_hash: Some(hash.clone()),
                // The developers' liaison sees only their team's cases: access by team on show.
                case_access: if *email == "alexey@demo.opora.dev" { CaseAccess::Teams } else { CaseAccess::All },
            };
            agent_ids.push(crate::staff::create(u, new, system)?.id);
        }
        let mut team_ids = Vec::new();
        for (index, name) in TEAMS.iter().enumerate() {
            let members: Vec<AgentId> =
                AGENTS.iter().zip(&agent_ids).filter(|((.., team), _)| *team == Some(index)).map(|(_, id)| *id).collect();
            team_ids.push(agents::insert_team(u.tx(), name, &members)?.id);
        }
        let option = |value: &str, ru: &str, en: &str| SelectOption { value: value.into(), label_ru: ru.into(), label_en: en.into() };
        let field = |key: &str, ru: &str, en: &str, field_type, options: Vec<SelectOption>, position| fields::FieldSpec {
            key: key.into(),
            label_ru: ru.into(),
            label_en: en.into(),
            field_type,
            options,
            required: false,
            position,
        };
        fields::insert(u.tx(), &field("order_no", "Номер заказа", "Order number", FieldType::Text, vec![], 1))?;
        let cities = vec![
            option("msk", "Москва", "Moscow"),
            option("spb", "Санкт-Петербург", "Saint Petersburg"),
            option("ekb", "Екатеринбург", "Yekaterinburg"),
        ];
        fields::insert(u.tx(), &field("city", "Город", "City", FieldType::Select, cities, 2))?;
        fields::insert(u.tx(), &field("visit_date", "Дата визита", "Visit date", FieldType::Date, vec![], 3))?;
        let mut customer_ids = Vec::new();
        for (name, email, phone, telegram, our) in CUSTOMERS {
            let mut errors = Errors::default();
            let mut identities = vec![(IdentityKind::Email, (*email).to_owned())];
            if !phone.is_empty() {
                identities.extend(
                    errors
                        .take(opora_domain::customer::parse_identity("phone", IdentityKind::Phone, phone))
                        .map(|p| (IdentityKind::Phone, p)),
                );
            }
            if !telegram.is_empty() {
                identities.push((IdentityKind::Telegram, (*telegram).to_owned()));
            }
            let language = if email.ends_with(".ru") { Language::Ru } else { Language::En };
            let new = CustomerSpec { name: (*name).into(), language: Some(language), our_client: *our, identities, ..Default::default() };
            customer_ids.push(crate::customers::create(u, new, system)?.id);
        }
        for story in STORIES {
            add_story(u, story, &agent_ids, &team_ids, &customer_ids, now)?;
        }
        let admin = ActingAgent { id: agent_ids[0], role: Role::Admin, access: CaseAccess::All };
        // A low rating finds its playbook: the starter set is there before the first start.
        crate::care::playbooks::install_starter(u)?;
        add_orders(u, admin, &customer_ids, now)?;
        u.set_now(now);
        Ok(())
    })
    .await?;
    // The chat on a stand-in of the team's website (`/demo/site`), allowed for this instance.
    let public = app.config().channels.public_url.trim_end_matches('/').to_owned();
    let origin = public.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
    let chat = crate::channels::NewChannel {
        kind: ChannelKind::Widget,
        name: "Чат на сайте".into(),
        settings: serde_json::json!({"allowed_origins": [origin]}),
        active: true,
        is_default: false,
    };
    app.channels().create(Actor::SYSTEM, chat).await?;
    Ok(AGENTS[0].0)
}

/// Orders of the cleaning service as its system pushes them: (id, customer, performer, stages
/// day by day, the customer's rating with reasons and comment).
type DemoOrder =
    (&'static str, usize, (&'static str, &'static str), &'static [&'static str], Option<(u8, &'static [&'static str], &'static str)>);

const ORDERS: &[DemoOrder] = &[
    (
        "CL-20481",
        1,
        ("p-7", "Анна Петрова"),
        &["created", "accepted", "on_the_way", "completed"],
        Some((2, &["late"], "Опоздали на полтора часа, никто не предупредил")),
    ),
    (
        "CL-20502",
        3,
        ("p-3", "Светлана Ким"),
        &["created", "accepted", "in_progress", "completed"],
        Some((5, &[], "Светлана — волшебница, окна сияют")),
    ),
    ("CL-20517", 5, ("p-7", "Анна Петрова"), &["created", "accepted", "completed"], None),
    ("CL-20533", 11, ("p-3", "Светлана Ким"), &["created", "accepted", "on_the_way"], None),
];

/// The demo's orders, told stage by stage; a low rating opens its problem case with a playbook.
fn add_orders(u: &mut Unit<'_, '_>, admin: ActingAgent, customers: &[opora_domain::CustomerId], now: Timestamp) -> opora_store::Result<()> {
    for (n, (external_id, customer, (performer_id, performer), stages, rating)) in ORDERS.iter().enumerate() {
        for (day, stage) in stages.iter().enumerate() {
            u.set_now(now.plus_minutes(((day as i64) - 4 + n as i64) * 6 * 60));
            let input = crate::care::orders::PutOrder {
                customer: Some(crate::customers::CustomerRef::Id(customers[*customer])),
                performer: Some(((*performer_id).into(), (*performer).into())),
                stage: Some((*stage).into()),
                description: Some("Генеральная уборка, 2 комнаты".into()),
                amount: Some(Money { minor: 450_000, currency: "RUB".into() }),
                eta_at: (*stage != "completed").then(|| now.plus_minutes(((day as i64) - 3 + n as i64) * 6 * 60)),
                ..Default::default()
            };
            crate::care::orders::put(u, admin, external_id, input)?;
        }
        if let Some((score, reasons, comment)) = rating {
            let order = opora_store::orders::by_external_id(u.conn(), external_id)?.ok_or(opora_domain::DomainError::NotFound("order"))?;
            if let Some(asked) = opora_store::ratings::asked_about(u.conn(), Some(order.id), None)? {
                let answer = crate::care::ratings::Answer {
                    score: *score,
                    reasons: reasons.iter().map(|r| (*r).to_owned()).collect(),
                    comment: (*comment).into(),
                    favourite: *score == 5,
                };
                crate::care::ratings::answer_rating(u, &asked.token, answer)?;
            }
        }
    }
    Ok(())
}

/// Every demo login, for the start-up message.
pub fn accounts() -> impl Iterator<Item = (&'static str, &'static str, Role)> {
    AGENTS.iter().map(|(email, name, role, ..)| (*email, *name, *role))
}
