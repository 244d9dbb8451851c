# Заказы, оценки и публичные страницы для клиентов.

order-subject = Заказ { $order }
order-stage-created = Заказ { $order } оформлен. Следить за ним можно здесь: { $link }
order-stage-accepted = Заказ { $order } принят. Следить за ним можно здесь: { $link }
order-stage-accepted-eta = Заказ { $order } принят, ждите нас { $eta }. Следить за ним можно здесь: { $link }
order-stage-in_progress = Заказ { $order }: работа началась.
order-stage-in_progress-eta = Заказ { $order }: работа началась, закончим { $eta }.
order-stage-on_the_way = Заказ { $order }: исполнитель выехал к вам.
order-stage-on_the_way-eta = Заказ { $order }: исполнитель выехал, будет { $eta }.
order-stage-completed = Заказ { $order } выполнен. Спасибо, что выбрали нас!
order-stage-cancelled = Заказ { $order } отменён. Если это ошибка, просто ответьте на это сообщение.
order-stage-other = Заказ { $order }: { $stage }.
order-eta-moved = Заказ { $order } задерживается, простите. Теперь ждите нас { $eta }.

rating-ask-order = Как прошёл заказ { $order }? Поставьте оценку, это займёт полминуты: { $link }
rating-ask-case = Мы ответили на ваш вопрос «{ $subject }». Оцените, пожалуйста, как мы справились: { $link }
rating-remind = Напоминаем: нам важна ваша оценка. { $link }
rating-problem-order = Оценка { $score }: заказ { $order }
rating-problem-case = Оценка { $score }: обращение #{ $number }
rating-problem-score = Оценка: { $score } из 5.
rating-problem-reasons = Что не так: { $reasons }.
rating-problem-comment = Комментарий: { $comment }

rating-reason-late = Опоздание
rating-reason-no_show = Никто не приехал
rating-reason-quality = Качество работы
rating-reason-rude = Невежливость
rating-reason-damage = Повреждение вещей
rating-reason-incomplete = Сделано не всё
rating-reason-wrong_amount = Неверная сумма
rating-reason-other = Другое

rate-page-title = Оценка
rate-title-order = Как прошёл заказ { $order }?
rate-title-case = Как мы справились с обращением #{ $number }?
rate-performer = Исполнитель: { $performer }
rate-agent = Сотрудник: { $agent }
rate-score = Ваша оценка
rate-score-1 = 1 — очень плохо
rate-score-2 = 2 — плохо
rate-score-3 = 3 — нормально
rate-score-4 = 4 — хорошо
rate-score-5 = 5 — отлично
rate-reasons = Что пошло не так?
rate-comment = Комментарий
rate-favourite = Добавить исполнителя { $performer } в избранные
rate-submit = Отправить
rate-thanks = Спасибо за оценку!
rate-thanks-low = Спасибо, что сказали. Нам жаль, что так вышло: мы свяжемся с вами сегодня.
rate-already = Вы уже поставили оценку. Спасибо!
rate-not-found = Ссылка для оценки не найдена. Возможно, в ней опечатка.
rate-error-score = Выберите оценку от 1 до 5.
rate-error-reasons = Отметьте причины из списка.

track-page-title = Заказ { $order }
track-stage-created = Оформлен
track-stage-accepted = Принят
track-stage-in_progress = В работе
track-stage-on_the_way = В пути
track-stage-completed = Выполнен
track-stage-cancelled = Отменён
track-eta = Ожидаем { $eta }
track-performer = Исполнитель: { $performer }
track-follow = Следить на карте
track-not-found = Заказ не найден. Возможно, в ссылке опечатка.
